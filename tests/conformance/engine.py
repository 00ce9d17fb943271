# tests/conformance/engine.py: runs the kit's sections against a server the way the XDS Toolkit's
# engine does (BasicTransaction): placeholders from earlier steps (UseId, UseReport, Report),
# built-ins, patient ids, uniqueIds and uuids assigned, the request sent, and the answer checked
# (status, error codes and messages, ExpectedContents, retrieved bytes). One outcome per section.
# Does not own reading the kit (kit.py), the wire (soap.py) or the server's life (run).

import datetime
import os
import re
import time
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, unescape

import ebrim
import soap
from kit import DATA_LOADERS
from ebrim import local

ASSIGNING_AUTHORITY = '1.3.6.1.4.1.21367.13.20.1000'
# $homeCommunityId$, and the server's registry.home_community_id when XCA is claimed (run); every
# step reports it as $testdata_home$, the toolkit's name for the community its data went to.
HOME_COMMUNITY_ID = 'urn:oid:1.3.6.1.4.1.21367.13.70.200'
ENDPOINTS = {  # capability -> (path, action, MTOM)
    'ITI-41': ('/xds/repository', 'urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b', True),
    'ITI-42': ('/xds/registry', 'urn:ihe:iti:2007:RegisterDocumentSet-b', False),
    'ITI-43': ('/xds/repository', 'urn:ihe:iti:2007:RetrieveDocumentSet', True),
    'ITI-18': ('/xds/registry', 'urn:ihe:iti:2007:RegistryStoredQuery', False),
    'ITI-51': ('/xds/registry', 'urn:ihe:iti:2009:MultiPatientStoredQuery', False),
    'ITI-86': ('/xds/repository', 'urn:ihe:iti:2017:RemoveDocuments', False),
    'ITI-62': ('/xds/registry', 'urn:ihe:iti:2010:DeleteDocumentSet', False),
    'ITI-57': ('/xds/registry', 'urn:ihe:iti:2010:UpdateDocumentSet', False),
    # XCA Responding Gateway: the kit's transaction element decides (kit.TRANSACTIONS)
    'XCQTransaction': ('/xca/responding-gateway', 'urn:ihe:iti:2007:CrossGatewayQuery', False),
    'XCRTransaction': ('/xca/responding-gateway', 'urn:ihe:iti:2007:CrossGatewayRetrieve', True),
}
APPROVED = 'urn:oasis:names:tc:ebxml-regrep:StatusType:Approved'
DEPRECATED = 'urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated'
HAS_MEMBER = ebrim.ASSOCIATION_URNS['HasMember']
# Capabilities whose transactions change what the registry or repository holds.
WRITES = {'ITI-41', 'ITI-42', 'ITI-57', 'ITI-62', 'ITI-86', 'lifecycle'}


class StepFailed(Exception):
    """The server's answer is not what the testplan expects."""


class Unsupported(Exception):
    """The testplan uses something this runner does not imitate yet: the section is skipped."""


class Conflict(Exception):
    """The kit itself makes the step impossible in this run: the section is skipped, saying why."""


class UnacceptableSubmission(Conflict):
    """A submission the kit expects to succeed that no registry may accept: the section is
    skipped, and so are the later sections of its test that would look at what it registered."""


# ---- the XPath the kit's <Report> elements use ---------------------------------------------------
# //*[local-name()='A'][@x='v'][1]/*[local-name()='B' and @y='w']/@attr, with
# descendant::*[...] tests inside predicates. Anything else is Unsupported, never guessed.
def _brackets(expr, pos):
    """The text inside the balanced [...] starting at expr[pos] and the position after it."""
    depth = 0
    quote = None
    for i in range(pos, len(expr)):
        c = expr[i]
        if quote:
            quote = None if c == quote else quote
        elif c in '\'"':
            quote = c
        elif c == '[':
            depth += 1
        elif c == ']':
            depth -= 1
            if depth == 0:
                return expr[pos + 1:i], i + 1
    raise Unsupported('XPath with unbalanced brackets: %s' % expr)


def _preds(expr, pos):
    """The predicates [@a='v'], [N], [local-name()='X'] ... from pos on, as tests; and the end."""
    tests = []
    while pos < len(expr) and expr[pos] == '[':
        inner, pos = _brackets(expr, pos)
        for term in re.split(r'\s+and\s+(?![^\[]*\])', inner.strip()):
            tests.append(_term(term.strip(), expr))
    return tests, pos


def _term(term, expr):
    """One test of a predicate."""
    m = re.fullmatch(r"local-name\(\.?\)='(\w+)'", term)
    if m:
        return ('name', m.group(1))
    m = re.fullmatch(r"namespace-uri\(\.?\)='([^']*)'", term)
    if m:
        return ('ns', m.group(1))
    m = re.fullmatch(r"@(\w+)\s*=\s*(?:'([^']*)'|\"([^\"]*)\")", term)
    if m:
        return ('attr', m.group(1), m.group(2) if m.group(2) is not None else m.group(3))
    if term.isdigit():
        return ('pos', int(term))
    if term.startswith('descendant::*'):
        tests, end = _preds(term, len('descendant::*'))
        if end == len(term):
            return ('desc', tests)
    raise Unsupported('XPath test %s in %s' % (term, ' '.join(expr.split())))


def _parse_path(expr):
    """A location path as [(descendant?, tests)] and a final attribute name or None."""
    expr = ' '.join(expr.split())
    attr = None
    m = re.search(r'/@(\w+)$', expr)
    if m:
        attr, expr = m.group(1), expr[:m.start()]
    steps = []
    pos = 0
    while pos < len(expr):
        m = re.compile(r'(//|/)(\*|[A-Za-z_][\w.-]*)').match(expr, pos)
        if not m:
            raise Unsupported('XPath %s' % expr)
        tests, pos = _preds(expr, m.end())
        if m.group(2) != '*':  # a named step: the toolkit's log elements (TestStep, Result)
            tests.insert(0, ('name', m.group(2)))
        steps.append((m.group(1) == '//', tests))
    if not steps:
        raise Unsupported('XPath %s' % expr)
    return steps, attr


def _ok(elem, tests):
    """elem passes every test but the positional ones."""
    for t in tests:
        if t[0] == 'name' and local(elem.tag) != t[1]:
            return False
        if t[0] == 'ns' and not elem.tag.startswith('{%s}' % t[1]):
            return False
        if t[0] == 'attr' and elem.get(t[1]) != t[2]:
            return False
        if t[0] == 'desc' and not any(_ok(d, t[1]) for d in elem.iter() if d is not elem):
            return False
    return True


def xpath(root, expr):
    """The string values the kit's XPath selects in root (elements: text; attributes: value)."""
    steps, attr = _parse_path(expr)
    doc = ET.Element('document-root')
    doc.append(root)
    nodes = [doc]
    for descendant, tests in steps:
        found = []
        for node in nodes:
            parents = [node] + ([d for d in node.iter() if d is not node] if descendant else [])
            for parent in parents:
                kids = [k for k in parent if _ok(k, tests)]
                for t in tests:  # a position counts among the siblings that matched, as in XPath
                    if t[0] == 'pos':
                        kids = kids[t[1] - 1:t[1]]
                found += [k for k in kids if k not in found]
        nodes = found
    if attr:
        return [n.get(attr) for n in nodes if n.get(attr) is not None]
    return [(n.text or '').strip() for n in nodes]


# ---- the run's memory: what each step assigned and reported ------------------------------------

class Run:
    """One run against one server: patients, step results, section outcomes."""

    def __init__(self, base_url, token, register_patient, caps):
        self.base_url = base_url.rstrip('/')
        self.token = token
        self.register_patient = register_patient  # callable(patient id) or None
        self.caps = caps
        self.results = {}  # (test, section, step) -> {'AssignedUids': {}, ..., 'reports': {}}
        self.outcomes = {}  # (test, section) -> (PASS|FAIL|SKIP, detail)
        self.patients = {}  # test -> its current patient id
        self.serial = 0
        self._step_id = ''  # the step being run, for messages
        self.submitted = {}  # document uniqueId -> the bytes this run sent with ITI-41
        self.raw_uids = {}  # uniqueId sent in a raw HttpTransaction body -> the section that sent it
        self.conflicted = set()  # (test, section) skipped: UnacceptableSubmission

    def new_patient(self, label, register=True):
        self.serial += 1
        pid = '%s-%s-%d^^^&%s&ISO' % (self.token, label, self.serial, ASSIGNING_AUTHORITY)
        if register and self.register_patient:
            self.register_patient(pid)
        return pid

    def test_patient(self, test):
        """The patient the toolkit's user would enter for a test: the one of the feed its steps name
        (12346's later steps have that UseReport commented out), else a new one of its own."""
        if test.name not in self.patients:
            pid = None
            for section in test.sections:
                for step in section.steps:
                    for ref in step.all('UseReport'):
                        if ref.get('useAs') == '$patientid$' and ref.get('test') and pid is None:
                            res = self.results.get((ref.get('test'), ref.get('section'), ref.get('step')))
                            pid = res['reports'].get(ref.get('reportName')) if res else None
            self.patients[test.name] = pid or self.new_patient(test.name)
        return self.patients[test.name]

    # ---- one section ----

    def run_section(self, section):
        """Runs one section; records and returns (PASS|FAIL|SKIP, detail)."""
        key = (section.test.name, section.name)
        outcome = self._decide(section)
        if outcome is None:
            try:
                for step in section.steps:
                    self._run_step(section, step)
                outcome = ('PASS', '')
            except StepFailed as e:
                outcome = ('FAIL', str(e))
            except Unsupported as e:
                outcome = ('SKIP', 'needs runner support: %s' % e)
            except Conflict as e:
                outcome = ('SKIP', str(e))
                if isinstance(e, UnacceptableSubmission):
                    self.conflicted.add(key)
            except soap.SoapError as e:
                outcome = ('FAIL', 'step %s: %s' % (self._step_id, e))
        self.outcomes[key] = outcome
        return outcome

    def _decide(self, section):
        """SKIP when the section needs what the server lacks or an earlier section it uses did not
        pass; None when it can run."""
        if section.missing:
            return ('SKIP', 'the kit holds no testplan.xml for this section')
        missing = [c for c in section.needs() if c not in self.caps]
        if missing:
            return ('SKIP', 'needs %s' % ', '.join(missing))
        # A section skipped for want of a transaction that changes the registry (a submission, an
        # update, a removal) leaves later sections of its test checking a state that never came about
        # (50000/verify expects the document ITI-86 deleted to be gone).
        if any(step.tx is not None for step in section.steps):
            for earlier in section.test.sections:
                if earlier is section:
                    break
                got = self.outcomes.get((section.test.name, earlier.name))
                conflicted = (section.test.name, earlier.name) in self.conflicted
                if got and got[0] == 'SKIP' and ((set(earlier.needs()) - self.caps) & WRITES or
                                                 conflicted and set(earlier.needs()) & WRITES):
                    return ('SKIP', 'follows %s, which changes the registry and was skipped: %s'
                            % (earlier.key, got[1]))
        for dep in section.dependencies():
            # a test that queries a data loader's data needs all of it (12346/rplc's replacement
            # is among the Documents 11897 counts)
            if dep[0] in DATA_LOADERS and dep[0] != section.test.name:
                for other in section.test.kit.test(dep[0]).sections:
                    got = self.outcomes.get((dep[0], other.name))
                    if got and got[0] != 'PASS':
                        return ('SKIP', "needs %s's data, and %s %s%s" % (
                            dep[0], other.key, 'was skipped: ' if got[0] == 'SKIP' else 'failed',
                            got[1] if got[0] == 'SKIP' else ''))
            got = self.outcomes.get(dep)
            name = '%s/%s' % dep
            if not os.path.isdir(os.path.join(section.test.kit.tests_dir, dep[0])):
                return ('SKIP', 'depends on %s, which the kit does not hold' % dep[0])
            if got is None:
                return ('SKIP', 'depends on %s, which did not run' % name)
            if got[0] == 'SKIP':
                return ('SKIP', 'depends on %s: %s' % (name, got[1]))
            if got[0] == 'FAIL':
                return ('SKIP', 'depends on %s, which failed' % name)
        return None

    def _run_step(self, section, step):
        self._step_id = step.id
        result = {'AssignedUids': {}, 'AssignedUuids': {}, 'AssignedPatientId': None,
                  'reports': {'$testdata_home$': HOME_COMMUNITY_ID}}
        self.results[(section.test.name, section.name, step.id)] = result
        test = section.test.name
        if section.test.patient_per_section and self.patients.get(('section', test)) != section.name:
            # "Each section uses a different Patient ID" (15807): a new one for each section
            self.patients[('section', test)] = section.name
            self.patients[test] = self.new_patient(test)
        if step.tx is None:  # <NewPatientId/> or nothing at all (12345/reset_patient_id)
            if step.flag('NewPatientId') is not None:
                self.patients[test] = self.new_patient(test)
            return
        wait = (step.tx.findtext('WaitBefore') or '').strip()
        if wait.isdigit():  # milliseconds (12323: a later lastUpdateTime needs a later second)
            time.sleep(int(wait) / 1000)
        if step.tx.tag == 'NullTransaction':
            self._assertions(section, step)
            return
        values = self._values(section, step)
        cap = step.capability()
        if cap == 'patients':
            self._patient_feed(section, step, result)
            return
        if step.tx.tag == 'HttpTransaction':
            answer = self._http(section, step, values, cap, result)
            self._check_status(step, answer)
            return
        path = step.metadata_path()
        if not path or not os.path.exists(path):
            raise StepFailed('step %s: MetadataFile %s is not in the kit' % (step.id, path))
        text = self._substitute(open(path, encoding='utf-8', errors='replace').read(), values)
        if cap in ('ITI-18', 'ITI-51'):
            # a UseId whose symbol is not $-named, quoted in a query's value ('Document01': 15801)
            for key, value in values.items():
                if not key.startswith('$'):
                    text = text.replace("'%s'" % key, "'%s'" % escape(value))
        try:
            root = ET.fromstring(text)
        except ET.ParseError as e:
            raise StepFailed('step %s: %s after substitution: %s' % (step.id, path, e))
        self._replace_ids(root, values)
        if cap in ('ITI-41', 'ITI-42', 'ITI-57'):
            answer, sent = self._submit(section, step, root, cap, values, result)
        elif cap in ('ITI-18', 'ITI-51', 'ITI-43', 'ITI-86', 'ITI-62'):
            sent = root
            url, action, mtom = self._endpoint(cap)
            answer = soap.call(url, action, root, [], mtom)
        elif cap == 'XCA':
            sent = root
            url, action, mtom = self._endpoint(step.tx.tag)
            answer = soap.call(url, action, root, [], mtom)
        else:
            raise Unsupported('sending %s' % step.tx.tag)
        self._check_status(step, answer)
        if cap in ('ITI-18', 'ITI-51') or step.tx.tag == 'XCQTransaction':
            self._check_contents(section, step, answer.body)
        if (cap == 'ITI-43' or step.tx.tag == 'XCRTransaction') and step.expected_status != 'Failure':
            # a retrieve expected to fail (50000/verify, after ITI-86) returns no document
            self._check_retrieve(section, step, answer, values)
        self._reports(step, sent, answer.body, result)
        # the toolkit reports its run parameters with every step (the patient its user typed)
        result['reports'].setdefault('$patientid$', values.get('$patientid$')
                                     or self.test_patient(section.test))
        result['output'] = answer.body
        result['input'] = sent
        if cap in ('ITI-18', 'ITI-51') and step.tx.find('Assertions') is not None:
            # checks on the section's log, this answer included (12379, 20005)
            index = section.steps.index(step)
            self._assert_all(step, step.tx.find('Assertions'),
                             self._log(section, section.steps[:index + 1]), values)
        if cap == 'XCA' and step.tx.find('Assertions') is not None:
            # the kit's XCA tests check `home` in this step's own answer, their paths starting at
            # the toolkit's log (//XCQTransaction[@step="x"]/Result[1]/...): here, the answer
            self._assert_all(step, step.tx.find('Assertions'), answer.body, values,
                             lambda e: re.sub(r'//(?:XC[QR]Transaction(?:\[[^\]]*\])?/)?'
                                              r'Result(?:\[1\])?/', '/', e))

    # ---- assertions ----

    def _assertions(self, section, step):
        """<Assertions> over the section's log so far (<DataRef file="THIS" as="output"/>: the
        toolkit's log of this section holds each earlier step's InputMetadata and Result; 15801
        counts a Classification of the update it sent and of the query's answer)."""
        asserts = step.tx.find('Assertions')
        refs = asserts.findall('DataRef') if asserts is not None else []
        if asserts is not None and not refs and step.all('UseReport'):
            self._value_assertions(section, step, asserts)
            return
        if len(refs) != 1 or refs[0].get('file') != 'THIS' or refs[0].get('as') != 'output':
            raise Unsupported('Assertions without <DataRef file="THIS" as="output"/>')
        before = [s for s in section.steps if s is not step]
        index = section.steps.index(step)
        prev = section.steps[index - 1] if index > 0 else None
        res = self.results.get((section.test.name, section.name, prev.id)) if prev else None
        if not before or res is None or res.get('output') is None:
            raise StepFailed('step %s: no earlier answer to assert on' % step.id)
        self._assert_all(step, asserts, self._log(section, section.steps[:index]),
                         self._values(section, step))

    def _log(self, section, steps):
        """The toolkit's log of those steps of the section: TestStep[@id]/<transaction>/
        InputMetadata and Result."""
        log = ET.Element('TestLog')
        for earlier in steps:
            got = self.results.get((section.test.name, section.name, earlier.id)) or {}
            if earlier.tx is None or got.get('output') is None:
                continue
            tx = ET.SubElement(ET.SubElement(log, 'TestStep', id=earlier.id), earlier.tx.tag)
            if got.get('input') is not None:
                ET.SubElement(tx, 'InputMetadata').append(got['input'])
            ET.SubElement(tx, 'Result').append(got['output'])
        return log

    def _assert_all(self, step, asserts, body, values, rewrite=None):
        """Each <Assert> of asserts over body, after the step's values are put in its text (the
        toolkit replaces each UseReport's useAs, $-named or not). The forms the kit uses:
        `A = B` and `A != B` where A and B are each a path, 'text', "text", a number,
        count(PATH), string(PATH) or substring(PATH, start[, length]), with XPath 1.0's
        comparisons (a node-set equals a value when one of its nodes does). rewrite: applied to
        each assertion's text first. Any other form is not imitated (the section is skipped,
        never passed)."""
        for a in asserts.findall('Assert'):
            expr = ' '.join((a.text or '').split())
            for key in sorted(values, key=len, reverse=True):
                expr = expr.replace(key, values[key])
            if rewrite:
                expr = rewrite(expr)
            if re.search(r'\$\w+\$', expr):
                raise Unsupported('assertion %s names a value no step gave' % expr)
            lhs, op, rhs = _split_comparison(expr)
            left, right = _operand(body, lhs, expr), _operand(body, rhs, expr)
            if isinstance(left, (int, float)) or isinstance(right, (int, float)):
                pairs = [(_number(x), _number(y)) for x in _as_list(left) for y in _as_list(right)]
            else:
                pairs = [(x, y) for x in _as_list(left) for y in _as_list(right)]
            ok = any(x == y for x, y in pairs) if op == '=' else any(x != y for x, y in pairs)
            if not ok:
                raise StepFailed('step %s: assertion %s does not hold (%s)'
                                 % (step.id, a.get('id', ''), expr))

    def _value_assertions(self, section, step, asserts):
        """<Assertions> over values its UseReports bring (no DataRef): as the toolkit does, each
        useAs name (and a built-in like $DATE$) is replaced by its value in the assertion's text,
        which is then an XPath 1.0 expression over constants. The forms the kit uses (12323,
        the XCA tests' comparisons of reported ids): comparisons `A op B` with op one of
        = != < <= > >=, each side a quoted string, a number or substring(S, start[, length]),
        joined by `and` and `or` (and binding tighter). Any other form is not imitated."""
        values = self._values(section, step)
        for a in asserts.findall('Assert'):
            expr = ' '.join((a.text or '').split())
            for name in sorted(values, key=len, reverse=True):
                expr = expr.replace(name, values[name])
            ok = any(all(_compare_constants(comp, expr) for comp in alt.split(' and '))
                     for alt in expr.split(' or '))
            if not ok:
                raise StepFailed('step %s: assertion %s does not hold (%s)'
                                 % (step.id, a.get('id', ''), expr))

    # ---- values ----

    def _use_id(self, section, step, ref):
        """The value a UseId element names: an id an earlier step assigned."""
        dep = section.reference(ref) or (section.test.name, section.name)
        res = self.results.get(dep + (ref.get('step', ''),))
        if res is None and section.reference(ref) is None:
            # a step of another section of the same test, named like its section
            # (12344/rplc names submit_doc_for_rplc)
            dep = (section.test.name, ref.get('step', ''))
            res = self.results.get(dep + (ref.get('step', ''),))
        if res is None:
            raise StepFailed('step %s: UseId names step %s/%s/%s, which has no result'
                             % (step.id, dep[0], dep[1], ref.get('step')))
        where = ref.get('section', 'AssignedUids')
        if where == 'AssignedPatientId':
            value = res['AssignedPatientId']
        else:
            value = res.get(where, {}).get(ref.get('id'))
        if value is None:
            raise StepFailed('step %s: UseId %s: step %s has no %s for %s'
                             % (step.id, ref.get('symbol'), ref.get('step'), where, ref.get('id')))
        return value

    def _values(self, section, step):
        """{placeholder: value} for a step: built-ins, UseId, UseReport."""
        # The next second: the toolkit's user runs a query seconds after the data loaders, this
        # runner within the same second, and an XDS time range's To is exclusive (11899).
        now = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=1)
        values = {'$now$': now.strftime('%Y%m%d%H%M%S'),
                  '$lastyear$': now.replace(year=now.year - 1, day=min(now.day, 28)).strftime('%Y%m%d%H%M%S'),
                  '$homeCommunityId$': HOME_COMMUNITY_ID,
                  '$DATE$': datetime.datetime.now(datetime.timezone.utc).strftime('%Y%m%d')}
        if step.all('UseXPath'):
            raise Unsupported('UseXPath')
        for ref in step.all('UseId'):
            values[ref.get('symbol') or ref.get('id')] = self._use_id(section, step, ref)
        for ref in step.all('UseReport'):
            dep = section.reference(ref)
            res = self.results.get(dep + (ref.get('step', ''),))
            name = ref.get('reportName')
            if res is None or name not in res['reports']:
                raise StepFailed('step %s: UseReport %s from %s/%s/%s: no such report'
                                 % (step.id, name, dep[0], dep[1], ref.get('step')))
            values[ref.get('useAs') or name] = res['reports'][name]
        return values

    @staticmethod
    def _substitute(text, values):
        """$placeholders$ in a file's text (values XML-escaped)."""
        for key, value in values.items():
            if key.startswith('$'):
                text = text.replace(key, escape(value, {'"': '&quot;'}))
        return text

    @staticmethod
    def _replace_ids(root, values):
        """UseId without a $symbol$: the symbolic id itself, wherever an attribute names it."""
        plain = {k: v for k, v in values.items() if not k.startswith('$')}
        if plain:
            for elem in root.iter():
                for attr, value in elem.attrib.items():
                    if value in plain:
                        elem.set(attr, plain[value])

    def _endpoint(self, cap):
        path, action, mtom = ENDPOINTS[cap]
        return self.base_url + path, action, mtom

    def _patient_for(self, section, step, values):
        if step.flag('AltPatientId') is not None:
            return self.new_patient('unknown', register=False)
        return values.get('$patientid$') or self.test_patient(section.test)

    # ---- transactions ----

    def _patient_feed(self, section, step, result):
        """A Patient Identity Feed step: the patient is registered with `cdagate patient add`."""
        test = section.test.name
        if step.flag('CreateNewPatientId') is not None or test not in self.patients:
            self.patients[test] = self.new_patient(test)
        result['AssignedPatientId'] = self.patients[test]
        result['reports']['$patientid$'] = self.patients[test]
        # The raw bodies of the test's HttpTransaction steps carry their own patient ids, which the
        # toolkit's user must feed: the feed registers them.
        for other in section.test.sections:
            for st in other.steps:
                if st.tx is not None and st.tx.tag == 'HttpTransaction':
                    body = other.resolve((st.tx.findtext('BodyFile') or '').strip())
                    for pid in _body_ids(open(body, 'rb').read().decode('utf-8', 'replace'),
                                         ebrim.PATIENT_SCHEMES):
                        if self.register_patient:
                            self.register_patient(pid)

    def _submit(self, section, step, root, cap, values, result):
        """ITI-41/ITI-42/ITI-57: the metadata as the toolkit sends it; returns (answer, body sent)."""
        sor = ebrim.to_v3(root)
        if sor is None or local(sor.tag) != 'SubmitObjectsRequest':
            raise StepFailed('step %s: the MetadataFile holds no SubmitObjectsRequest' % step.id)
        patient = self._patient_for(section, step, values)
        if step.flag('NoPatientId') is None:
            ebrim.set_patient(sor, patient)
        result['AssignedPatientId'] = patient
        keep = set()
        for flag in step.all('NoAssignUids'):
            if flag.get('id'):
                keep.add(flag.get('id'))
            else:
                keep = None
                break
        result['AssignedUids'] = ebrim.assign_uids(sor, keep)
        if keep is None and step.expected_status == 'Success':
            # <NoAssignUids/> sends the file's uniqueIds as they are: one that is not an OID can
            # be accepted by no registry (20004/success_update's "SubmissionSet01_uniqueid")
            for sym, uid in result['AssignedUids'].items():
                if not re.fullmatch(r'[0-2](\.(0|[1-9][0-9]*))+(\^[^^]{1,16})?', uid or ''):
                    raise UnacceptableSubmission("its metadata keeps the uniqueId %r of %s (<NoAssignUids/>), "
                                   "which is not an OID, and expects Success" % (uid, sym))
        if step.flag('AssignUuids') is not None:
            result['AssignedUuids'] = ebrim.assign_uuids(sor)
        for sym, uid in result['AssignedUids'].items():
            uuid_id = result['AssignedUuids'].get(sym, sym)
            result['reports'][sym + '_uid'] = uid
            result['reports'][sym + '_uuid'] = uuid_id
        url, action, mtom = self._endpoint(cap)
        if cap in ('ITI-42', 'ITI-57'):
            return soap.call(url, action, sor, [], False), sor
        body = ET.Element('{%s}ProvideAndRegisterDocumentSetRequest' % ebrim.XDSB)
        body.append(sor)
        parts = []
        for n, doc in enumerate(step.all('Document'), 1):
            path = section.resolve((doc.text or '').strip())
            if not os.path.exists(path):
                raise StepFailed('step %s: Document %s is not in the kit' % (step.id, path))
            cid = 'doc%d@cdagate.conformance' % n
            el = ET.SubElement(body, '{%s}Document' % ebrim.XDSB)
            el.set('id', result['AssignedUuids'].get(doc.get('id'), doc.get('id')))
            ET.SubElement(el, '{%s}Include' % soap.XOP).set('href', 'cid:' + cid)
            parts.append((cid, open(path, 'rb').read()))
            if doc.get('id') in result['AssignedUids']:
                self.submitted[result['AssignedUids'][doc.get('id')]] = parts[-1][1]
        return soap.call(url, action, body, parts, True), body

    def _http(self, section, step, values, cap, result):
        """A raw HttpTransaction: the kit's body file with its headers, to the action's endpoint.
        The uniqueIds its metadata carries are recorded as the step's AssignedUids."""
        if cap not in ENDPOINTS:
            raise Unsupported('HttpTransaction for %s' % cap)
        headers = ' '.join((step.tx.findtext('Headers') or '').split())
        ctype = headers.split(':', 1)[1].strip() if headers.lower().startswith('content-type:') else headers
        path = section.resolve((step.tx.findtext('BodyFile') or '').strip())
        data = open(path, 'rb').read()
        # Raw bodies are sent as they are, uniqueIds included (the toolkit cannot renew them): two
        # bodies with the same uniqueIds cannot both be accepted by one registry.
        for uid in _body_ids(data.decode('utf-8', 'replace'), ebrim.UNIQUE_SCHEMES):
            if self.raw_uids.get(uid, section.key) != section.key:
                raise Conflict('its raw body reuses uniqueId %s, already sent by %s' % (uid, self.raw_uids[uid]))
            self.raw_uids[uid] = section.key
        for key, value in values.items():
            data = data.replace(key.encode(), escape(value).encode())
        result['AssignedUids'] = _raw_uids(ctype, data)
        return soap.post(self._endpoint(cap)[0], ctype, data)

    # ---- checks ----

    @staticmethod
    def _registry_response(body):
        """The element carrying the status and the RegistryErrorList of an answer body."""
        if local(body.tag) in ('RegistryResponse', 'AdhocQueryResponse'):
            return body
        for elem in body.iter():
            if local(elem.tag) == 'RegistryResponse':
                return elem
        return body

    def _check_status(self, step, answer):
        resp = self._registry_response(answer.body)
        status = resp.get('status', '').rsplit(':', 1)[-1]
        errors = [(e.get('errorCode', ''), e.get('codeContext', '') + ' ' + (e.text or ''))
                  for e in resp.iter() if local(e.tag) == 'RegistryError']
        codes = [c for c, _ in errors]
        if status != step.expected_status:
            detail = '; '.join('%s: %s' % (c, ' '.join(ctx.split())[:160]) for c, ctx in errors[:3]) or 'no error'
            want = step.expected_status
            if step.error_codes or step.error_messages:
                want = '/'.join(step.error_codes + step.error_messages)
            raise StepFailed('step %s: expected %s, got %s (%s)' % (step.id, want, status or 'no status', detail))
        for code in step.error_codes:
            if code not in codes:
                raise StepFailed('step %s: expected error code %s, got %s'
                                 % (step.id, code, ', '.join(codes) or 'none'))
        for msg in step.error_messages:
            if not any(msg in c or msg in ctx for c, ctx in errors):
                raise StepFailed('step %s: expected an error saying %s, got %s'
                                 % (step.id, msg, ', '.join(codes) or 'none'))

    def _check_contents(self, section, step, body):
        expected = step.tx.find('ExpectedContents')
        if expected is None:
            return
        objs = list(next((e for e in body.iter() if local(e.tag) == 'RegistryObjectList'), []))
        docs = [o for o in objs if local(o.tag) == 'ExtrinsicObject']
        packages = [o for o in objs if local(o.tag) == 'RegistryPackage']
        sets = [p for p in packages if _is_kind(p, objs, ebrim.SS_NODE, ebrim.SS_UNIQUE)]
        folders = [p for p in packages if _is_kind(p, objs, ebrim.FOL_NODE, ebrim.FOL_UNIQUE)]
        assocs = [o for o in objs if local(o.tag) == 'Association']
        refs = [o for o in objs if local(o.tag) == 'ObjectRef']
        counts = {'Documents': docs, 'SubmissionSets': sets, 'Folders': folders,
                  'Associations': assocs, 'ObjectRefs': refs}

        def members(parent, kinds):
            ids = {o.get('id') for o in kinds}
            return [a for a in assocs if a.get('sourceObject') == parent.get('id')
                    and a.get('associationType') == HAS_MEMBER and a.get('targetObject') in ids]

        def shape(n_docs, n_fols):
            return (len(sets) == 1 and len(docs) == n_docs and len(folders) == n_fols
                    and len(members(sets[0], docs)) == n_docs and len(members(sets[0], folders)) == n_fols)
        named = {
            'SSwithOneDoc': lambda: shape(1, 0),
            'SSwithTwoDoc': lambda: shape(2, 0),
            'SSwithOneFol': lambda: shape(0, 1),
            'SSwithOneDocOneFol': lambda: shape(1, 1),
            'SSwithTwoDocOneFolOneDocInFol': lambda: shape(2, 1) and len(members(folders[0], docs)) == 1,
            'DocApp': lambda: all(d.get('status') == APPROVED for d in docs),
            'DocDep': lambda: all(d.get('status') == DEPRECATED for d in docs),
            # exactly one of the documents has that status (12022: OneDocDep and OneDocApp)
            'OneDocApp': lambda: sum(d.get('status') == APPROVED for d in docs) == 1,
            'OneDocDep': lambda: sum(d.get('status') == DEPRECATED for d in docs) == 1,
            'SSApproved': lambda: all(s.get('status') == APPROVED for s in sets),
            'FolApp': lambda: all(f.get('status') == APPROVED for f in folders),
            'None': lambda: not objs,
            'HasXFRM_RPLC': lambda: any(a.get('associationType', '').endswith(':XFRM_RPLC') for a in assocs),
        }
        for want in expected:
            name = want.tag
            if name in counts and want.get('count') is not None:
                got = len(counts[name])
                if got != int(want.get('count')):
                    raise StepFailed('step %s: expected %s %s, got %d' % (step.id, want.get('count'), name, got))
            elif name == 'DocumentEntries' and want.find('MustOnlyInclude') is not None:
                # exactly these DocumentEntries (entryUUID and objectType) and no other (12000.1a)
                wanted = {(self._use_id(section, step, de.find('UseId')),
                           (de.findtext('DocumentEntryType') or '').strip())
                          for de in want.find('MustOnlyInclude').findall('DocumentEntry')}
                got = {(d.get('id'), d.get('objectType')) for d in docs}
                if got != wanted:
                    raise StepFailed('step %s: expected exactly the DocumentEntries %s, got %s'
                                     % (step.id, sorted(wanted), sorted(got)))
            elif name in named:
                if not named[name]():
                    raise StepFailed('step %s: the answer is not %s (%d Documents, %d SubmissionSets, '
                                     '%d Folders, %d Associations)' % (step.id, name, len(docs), len(sets),
                                                                       len(folders), len(assocs)))
            else:
                raise Unsupported('ExpectedContents/%s' % name)

    def _check_retrieve(self, section, step, answer, values):
        """Each ReferenceDocument: the DocumentResponse for its uid carries the same bytes."""
        responses = {}
        for resp in answer.body.iter():
            if local(resp.tag) == 'DocumentResponse':
                uid = next(((c.text or '').strip() for c in resp if local(c.tag) == 'DocumentUniqueId'), '')
                responses[uid] = resp
        mime = (step.tx.findtext('ExpectedMimeType') or '').strip()
        for ref in step.tx.findall('ReferenceDocument'):
            uid = self._substitute(ref.get('uid', ''), values)
            resp = responses.get(uid)
            if resp is None:
                raise StepFailed('step %s: no DocumentResponse for document %s' % (step.id, uid))
            doc = next((c for c in resp if local(c.tag) == 'Document'), None)
            if doc is None:
                raise StepFailed('step %s: DocumentResponse for %s has no Document' % (step.id, uid))
            want = open(section.resolve((ref.text or '').strip()), 'rb').read()
            source = (ref.text or '').strip()
            # The kit's own reference file is sometimes not the file its submit step sends (12029,
            # 50000: my_document.pdf named, readme.txt sent): what this run sent is what must return.
            if uid in self.submitted and self.submitted[uid] != want:
                want, source = self.submitted[uid], 'the document submitted'
            got = answer.content(doc)
            if got != want:
                raise StepFailed('step %s: retrieved document %s differs from %s (%d bytes, expected %d)'
                                 % (step.id, uid, source, len(got), len(want)))
            got_mime = next(((c.text or '').strip() for c in resp if local(c.tag) == 'mimeType'), '')
            if mime and got_mime != mime:
                raise StepFailed('step %s: expected mimeType %s, got %s' % (step.id, mime, got_mime or 'none'))

    @staticmethod
    def _reports(step, sent, body, result):
        """<Report name=.. section="InputMetadata|Result">XPath</Report>: values for later steps."""
        for rep in step.all('Report'):
            where = sent if rep.get('section', 'Result') == 'InputMetadata' else body
            expr = ' '.join((rep.text or '').split())
            m = re.fullmatch(r"""translate\((.+), "(.)", ""\)""", expr)
            if m:  # translate(PATH, "'", ""): the value without that character
                found = [v.replace(m.group(2), '') for v in xpath(where, m.group(1))]
            else:
                found = xpath(where, expr)
            if found:  # one that selects nothing fails the step that uses it (_values)
                result['reports'][rep.get('name')] = found[0]


def _constant(text):
    """The value of an XPath 1.0 constant: 'text', "text", a number, or substring(S, start[,
    length]) of one (1-based, as XPath counts)."""
    text = text.strip()
    m = re.fullmatch(r'substring\((.+?),\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)', text)
    if m:
        value, start = _constant(m.group(1)), int(m.group(2))
        end = start + int(m.group(3)) if m.group(3) else len(value) + 1
        return value[max(start, 1) - 1:max(end, 1) - 1]
    m = re.fullmatch(r"'([^']*)'|\"([^\"]*)\"", text)
    if m:
        return m.group(1) if m.group(1) is not None else m.group(2)
    if re.fullmatch(r'-?\d+(\.\d+)?', text):
        return text
    raise Unsupported('XPath constant %s' % text)


def _raw_uids(ctype, data):
    """{object id: uniqueId} of the SubmitObjectsRequest in a raw SOAP or MTOM message ({} when
    the message holds none or cannot be read)."""
    try:
        root = soap.split_multipart(ctype, data)[0][1] if ctype.lower().startswith('multipart/') else data
        env = ET.fromstring(root)
    except (soap.SoapError, ET.ParseError, IndexError):
        return {}
    sor = next((e for e in env.iter('{%s}SubmitObjectsRequest' % ebrim.LCM)), None)
    return ebrim.assign_uids(sor, None) if sor is not None else {}


def _body_ids(text, schemes):
    """The values of the ExternalIdentifiers with one of those schemes in a raw message."""
    found = []
    for tag in re.findall(r'<[\w:]*ExternalIdentifier\b[^>]*>', text):
        scheme = re.search(r'identificationScheme="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if scheme and value and scheme.group(1) in schemes:
            pid = unescape(value.group(1))
            if pid not in found:
                found.append(pid)
    return found


def _is_kind(package, objs, node, unique_scheme):
    """A RegistryPackage is a SubmissionSet (or Folder) by its classification node or its uniqueId
    identification scheme."""
    pid = package.get('id')
    for c in [*package.iter(), *objs]:
        if local(c.tag) == 'Classification' and c.get('classificationNode') == node \
                and c.get('classifiedObject', pid) == pid:
            return True
    return any(local(e.tag) == 'ExternalIdentifier' and e.get('identificationScheme') == unique_scheme
               for e in package)


def _compare_constants(comp, expr):
    """One comparison of constants, `A op B` (see Run._value_assertions)."""
    m = re.fullmatch(r'(.+?)\s*(!=|<=|>=|=|<|>)\s*(.+)', comp.strip())
    if not m:
        raise Unsupported('assertion %s' % expr)
    left, op, right = _constant(m.group(1)), m.group(2), _constant(m.group(3))
    if op in ('=', '!='):
        return (left == right) == (op == '=')
    try:
        x, y = float(left), float(right)
    except ValueError:
        return False  # XPath: a string that is not a number is NaN, never ordered
    return {'<': x < y, '<=': x <= y, '>': x > y, '>=': x >= y}[op]


def _split_comparison(expr):
    """(left, '=' or '!=', right) of an assertion: the one comparison outside brackets, parentheses
    and quotes."""
    depth = 0
    quote = None
    found = []
    i = 0
    while i < len(expr):
        c = expr[i]
        if quote:
            quote = None if c == quote else quote
        elif c in '\'"':
            quote = c
        elif c in '[(':
            depth += 1
        elif c in '])':
            depth -= 1
        elif depth == 0 and c == '!' and expr[i + 1:i + 2] == '=':
            found.append((i, 2, '!='))
            i += 1
        elif depth == 0 and c == '=':
            found.append((i, 1, '='))
        i += 1
    if len(found) != 1:
        raise Unsupported('assertion %s' % expr)
    pos, width, op = found[0]
    return expr[:pos].strip(), op, expr[pos + width:].strip()


def _operand(body, text, expr):
    """One side of an assertion: a list of strings (a node-set or a string), or a number."""
    m = re.fullmatch(r"'([^']*)'|\"([^\"]*)\"", text)
    if m:
        return [m.group(1) if m.group(1) is not None else m.group(2)]
    if re.fullmatch(r'\d+', text):
        return int(text)
    m = re.fullmatch(r'count\((.+)\)', text)
    if m:
        return len(xpath(body, m.group(1)))
    m = re.fullmatch(r'string\((.+)\)', text)
    if m:
        found = xpath(body, m.group(1))
        return [found[0] if found else '']
    m = re.fullmatch(r'substring\((.+)\)', text)
    if m:  # substring(PATH, start[, length]) of the first node's string value (12323)
        args = [x.strip() for x in m.group(1).rsplit(',', 2)]
        while len(args) > 1 and not re.fullmatch(r'\d+', args[1]):
            args = [args[0] + ',' + args[1]] + args[2:]
        if len(args) < 2 or not all(re.fullmatch(r'\d+', x) for x in args[1:]):
            raise Unsupported('assertion %s' % expr)
        found = xpath(body, args[0])
        first, start = (found[0] if found else ''), int(args[1]) - 1
        end = start + int(args[2]) if len(args) == 3 else None
        return [first[max(start, 0):end]]
    if text.startswith('/'):
        return xpath(body, text)
    raise Unsupported('assertion %s' % expr)


def _as_list(v):
    return [v] if isinstance(v, (int, float)) else v


def _number(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return float('nan')
