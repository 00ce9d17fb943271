# tests/conformance/kit.py: the NIST XDS Toolkit test kit as data: tests, their sections in
# index.idx order, the steps of each testplan.xml, what each section needs from the server
# (transactions, lifecycle associations, TLS) and which earlier sections it takes values from.
# Does not own running anything (engine.py) or the list of what cdagate supports (capabilities).

import os
import re
import xml.etree.ElementTree as ET

import ebrim

# testplan transaction element -> the capability it needs (capabilities file names)
TRANSACTIONS = {
    'RegisterTransaction': 'ITI-42',
    'ProvideAndRegisterTransaction': 'ITI-41',
    'RetrieveTransaction': 'ITI-43',
    'StoredQueryTransaction': 'ITI-18',
    'MuTransaction': 'ITI-57',
    'RemoveMetadataTransaction': 'ITI-62',
    'RdTransaction': 'ITI-86',
    'MPQTransaction': 'ITI-51',
    'XCQTransaction': 'XCA',
    'XCRTransaction': 'XCA',
    'IGQTransaction': 'XCA-IG',
    'IGRTransaction': 'XCA-IG',
    'PatientIdentityFeedTransaction': 'patients',
    'HttpTransaction': None,  # the action in its Content-Type decides
    'NullTransaction': 'assertions',  # XPath assertions over an earlier answer (engine.py)
}
# wsa:Action -> capability, for raw HttpTransaction steps
ACTIONS = {
    'urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b': 'ITI-41',
    'urn:ihe:iti:2007:RegisterDocumentSet-b': 'ITI-42',
    'urn:ihe:iti:2007:RetrieveDocumentSet': 'ITI-43',
    'urn:ihe:iti:2007:RegistryStoredQuery': 'ITI-18',
}
LIFECYCLE = {'RPLC', 'APND', 'XFRM', 'XFRM_RPLC', 'signs', 'IsSnapshotOf'}
METADATA_UPDATE = {'SubmitAssociation', 'UpdateAvailabilityStatus'}

# Tests whose data other tests query: run before the others (INDEX.md, "Data loaders").
PATIENT_FEEDS = ('15817', '15817b', '15818', '15819', '15820', '15821', '15822', '15823', '15824',
                 '15825', '15826', '15827', '15828', '15804')
DATA_LOADERS = ('12346', '12374', '12361', '12318', '15832', '15807', '12344', '12345')
# Parameters the toolkit's user types in its GUI, played as the UseReports they stand for: 12361's
# two submissions each need their own new patient, the MPQ feeds' (INDEX.md: 15819, 15820).
PARAMETERS = {
    '12361': (('15819', 'pif', 'step', '$patientid$', '$patient_id1$'),
              ('15820', 'pif', 'step', '$patientid$', '$patient_id2$')),
}


class KitError(Exception):
    """The kit is not what INDEX.md describes (a missing file, bad XML)."""


class Step:
    """One <TestStep>: its id, its transaction element (None for a step that only makes a new
    patient id), the engine flags and the expectations."""

    def __init__(self, section, elem):
        self.section = section
        self.elem = elem
        self.id = elem.get('id', '')
        self.tx = None
        for child in elem:
            if child.tag in TRANSACTIONS:
                self.tx = child
        self.expected_status = (elem.findtext('ExpectedStatus') or 'Success').strip()
        self.error_codes = [e.text.strip() for e in elem.iter('ExpectedErrorCode') if e.text]
        self.error_messages = [e.text.strip() for e in elem.iter('ExpectedErrorMessage') if e.text]

    def flag(self, name):
        """The engine flag element (<NoPatientId/>, <AssignUuids/>, ...) in the step or its
        transaction, or None."""
        found = self.elem.find(name)
        if found is None and self.tx is not None:
            found = self.tx.find(name)
        return found

    def all(self, name):
        """Every element of that name in the step and its transaction; for UseReport also the
        test's GUI parameters (PARAMETERS)."""
        found = self.elem.findall(name) + (self.tx.findall(name) if self.tx is not None else [])
        if name == 'UseReport':
            for test, section, step, report, use_as in PARAMETERS.get(self.section.test.name, ()):
                found.append(ET.Element('UseReport', test=test, section=section, step=step,
                                        reportName=report, useAs=use_as))
        return found

    def metadata_path(self):
        """The MetadataFile's path, or None."""
        name = (self.tx.findtext('MetadataFile') or '').strip() if self.tx is not None else ''
        return self.section.resolve(name) if name else None

    def capability(self):
        """What this step needs from the server (a capabilities file name), or None."""
        if self.tx is None:
            return None
        if self.tx.tag == 'HttpTransaction':
            m = re.search(r'action="?([^";\s]+)', self.tx.findtext('Headers') or '')
            return ACTIONS.get(m.group(1), 'HTTP ' + m.group(1)) if m else 'HTTP'
        if self.tx.tag in ('XCQTransaction', 'XCRTransaction') and (
                self.section.plan.find('SUTInitiates') is not None or self.section.test.sut_initiates):
            return 'XCA-IG'  # 12300..12308: the Initiating Gateway under test sends these
        return TRANSACTIONS[self.tx.tag]


class Section:
    """One section of a test: its folder and testplan.xml."""

    def __init__(self, test, name):
        self.test = test
        self.name = name
        self.dir = os.path.join(test.dir, name)
        self.key = '%s/%s' % (test.name, name)
        path = os.path.join(self.dir, 'testplan.xml')
        self.missing = not os.path.exists(path)
        self.steps = []
        if not self.missing:
            try:
                self.plan = ET.parse(path).getroot()
            except ET.ParseError as e:
                raise KitError('%s: %s' % (path, e))
            self.steps = [Step(self, s) for s in self.plan.iter('TestStep')]

    def resolve(self, name):
        """A file named by the testplan: relative to the section, else to the test folder."""
        for base in (self.dir, self.test.dir):
            path = os.path.normpath(os.path.join(base, name))
            if os.path.exists(path):
                return path
        return os.path.normpath(os.path.join(self.dir, name))

    def needs(self):
        """The capabilities this section's own steps need, in step order, without repeats."""
        out = []

        def add(cap):
            if cap and cap not in out:
                out.append(cap)
        if self.test.tls:
            add('TLS')
        for step in self.steps:
            add(step.capability())
            path = step.metadata_path()
            if path and os.path.exists(path):
                try:
                    types = ebrim.association_types(ET.parse(path).getroot())
                except ET.ParseError:
                    types = set()
                if types & LIFECYCLE:
                    add('lifecycle')
                if types & METADATA_UPDATE:
                    add('ITI-57')
        return out

    def dependencies(self):
        """The sections (test name, section name) whose step results this section uses."""
        out = []
        for step in self.steps:
            for ref in (step.all('UseId') + step.all('UseReport') + step.all('UseXPath')
                        + step.all('ReferenceMetadata')):
                dep = self.reference(ref)
                if dep and dep != (self.test.name, self.name) and dep not in out:
                    out.append(dep)
        return out

    def reference(self, ref):
        """(test, section) a UseId/UseReport/ReferenceMetadata element points at."""
        if ref.get('test'):
            return (ref.get('test'), ref.get('section', ''))
        if ref.get('testdir'):
            path = os.path.normpath(os.path.join(self.dir, ref.get('testdir')))
            if not os.path.isdir(path):  # 12343 names ../12342 from its section
                path = os.path.normpath(os.path.join(self.test.dir, ref.get('testdir')))
            rel = os.path.relpath(path, self.test.kit.tests_dir).split(os.sep)
            if len(rel) == 2:
                return (rel[0], rel[1])
            if len(rel) == 1:  # a whole test: the section named like the step
                return (rel[0], ref.get('section') if ref.tag == 'UseReport' else ref.get('step', ''))
            return ('/'.join(rel), '')
        if ref.get('section') == 'THIS' and ref.tag == 'UseReport':  # 15801: this section
            return (self.test.name, self.name)
        if ref.get('section') and ref.tag == 'UseReport':
            return (self.test.name, ref.get('section'))
        return None


class Test:
    """One test folder: tests/<N>/ with index.idx."""

    def __init__(self, kit, name):
        self.kit = kit
        self.name = name
        self.dir = os.path.join(kit.tests_dir, name)
        readme = os.path.join(self.dir, 'readme.txt')
        text = open(readme, errors='replace').read() if os.path.exists(readme) else ''
        self.title = ' '.join(text.split())[:100]
        # 12028 is the kit's one test that must be run over TLS (its readme says so)
        self.tls = bool(re.search(r'\bover TLS\b|engage TLS', text))
        # 12300..12308: "Initiate a ... Query from your Initiating Gateway": the system under test
        # sends, the toolkit's Responding Gateway checks
        self.sut_initiates = bool(re.search(r'Initiate a .*\s+from\s+your\s+Initiating\s+Gateway',
                                            ' '.join(text.split())))
        # 15807: "Each section uses a different Patient ID."
        self.patient_per_section = bool(re.search(r'Each section uses a different Patient ID', text))
        names = []
        idx = os.path.join(self.dir, 'index.idx')
        if os.path.exists(idx):
            for line in open(idx).read().split():
                if line not in names:  # 12345 lists its sections again and again: run them once
                    names.append(line)
        self.sections = [Section(self, n) for n in names]


class Kit:
    """The test kit: INDEX.md and tests/<N>/ beside it."""

    def __init__(self, path):
        self.dir = path
        self.tests_dir = os.path.join(path, 'tests')
        if not os.path.isdir(self.tests_dir):
            raise KitError('no test kit at %s (expected %s/tests/<N>/)' % (path, path))
        self._tests = {}

    def names(self):
        return sorted(n for n in os.listdir(self.tests_dir)
                      if os.path.isdir(os.path.join(self.tests_dir, n)))

    def test(self, name):
        if name not in self._tests:
            if not os.path.isdir(os.path.join(self.tests_dir, name)):
                raise KitError('no test %s in %s' % (name, self.tests_dir))
            self._tests[name] = Test(self, name)
        return self._tests[name]

    def order(self, selected):
        """The tests to run: the selected ones with every test they depend on, patient feeds
        first, then the data loaders, then the rest in kit order."""
        wanted = []

        def add(name):
            if name in wanted or not os.path.isdir(os.path.join(self.tests_dir, name)):
                return
            wanted.append(name)
            for section in self.test(name).sections:
                for dep_test, _ in section.dependencies():
                    add(dep_test)
        for name in selected:
            self.test(name)  # an unknown name is an error, not silently nothing
            add(name)
        rank = {n: i for i, n in enumerate(PATIENT_FEEDS + DATA_LOADERS)}
        kit_order = {n: i for i, n in enumerate(self.names())}
        return sorted(wanted, key=lambda n: (rank.get(n, len(rank)), kit_order[n]))
