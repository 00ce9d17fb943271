# tests/conformance/ebrim.py: the metadata the NIST test kit submits, made ready to send the way the
# XDS Toolkit's engine makes it: ebRIM 2.1 SubmitObjectsRequests converted to ebRIM 3.0, patient ids
# replaced, fresh uniqueIds and urn:uuid ids assigned, and what was assigned remembered.
# Does not own sending (soap.py) or judging answers (engine.py).

import uuid
import xml.etree.ElementTree as ET

RS21 = 'urn:oasis:names:tc:ebxml-regrep:registry:xsd:2.1'
RIM = 'urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0'
LCM = 'urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0'
RS = 'urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0'
QUERY = 'urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0'
XDSB = 'urn:ihe:iti:xds-b:2007'

for _prefix, _ns in (('rim', RIM), ('lcm', LCM), ('rs', RS), ('query', QUERY), ('xdsb', XDSB)):
    ET.register_namespace(_prefix, _ns)

# XDS identification schemes (ITI TF-3 4.2.5)
DE_PATIENT = 'urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427'
SS_PATIENT = 'urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446'
FOL_PATIENT = 'urn:uuid:f64ffdf0-4b97-4e06-b79f-a52b38ec2f8a'
DE_UNIQUE = 'urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab'
SS_UNIQUE = 'urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8'
FOL_UNIQUE = 'urn:uuid:75df8f67-9973-4fbe-a900-df66cefecc5a'
PATIENT_SCHEMES = (DE_PATIENT, SS_PATIENT, FOL_PATIENT)
UNIQUE_SCHEMES = (DE_UNIQUE, SS_UNIQUE, FOL_UNIQUE)
SS_NODE = 'urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd'
FOL_NODE = 'urn:uuid:d9d542f3-6cc4-48b6-8870-ea235fbc94c2'
DE_TYPE = 'urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1'

# ebRIM 2.1 short association types and their 3.0 URNs (ITI TF-3 4.2.2)
ASSOCIATION_URNS = {
    'HasMember': 'urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember',
    'RPLC': 'urn:ihe:iti:2007:AssociationType:RPLC',
    'APND': 'urn:ihe:iti:2007:AssociationType:APND',
    'XFRM': 'urn:ihe:iti:2007:AssociationType:XFRM',
    'XFRM_RPLC': 'urn:ihe:iti:2007:AssociationType:XFRM_RPLC',
    'signs': 'urn:ihe:iti:2007:AssociationType:signs',
    'IsSnapshotOf': 'urn:ihe:iti:2007:AssociationType:IsSnapshotOf',
}
# The order of a RegistryObject's children in ebRIM 3.0 (rim.xsd, RegistryObjectType).
_CHILD_ORDER = ('Slot', 'Name', 'Description', 'VersionInfo', 'Classification', 'ExternalIdentifier')
# Attributes that hold object ids, rewritten when symbolic ids become urn:uuid ids.
_ID_REFS = ('id', 'classifiedObject', 'registryObject', 'sourceObject', 'targetObject', 'lid')


def local(tag):
    """The local name of an ElementTree tag ('{ns}Name' -> 'Name')."""
    return tag.rsplit('}', 1)[-1]


def ns_of(tag):
    return tag[1:].split('}', 1)[0] if tag.startswith('{') else ''


def new_uuid():
    return 'urn:uuid:' + str(uuid.uuid4())


def new_oid():
    """A fresh uniqueId: the 2.25 arc, a UUID as a decimal integer (ITU-T X.667)."""
    return '2.25.' + str(uuid.uuid4().int)


# ---- ebRIM 2.1 -> 3.0 -------------------------------------------------------------------------

def _convert21(elem, parent_id):
    """One ebRIM 2.1 element (and its subtree) as ebRIM 3.0; parent_id is the id of the
    RegistryObject it belongs to (ExternalIdentifier.registryObject, Classification.classifiedObject)."""
    name = local(elem.tag)
    out = ET.Element('{%s}%s' % (RIM, 'RegistryObjectList' if name == 'LeafRegistryObjectList' else name))
    for key, value in elem.attrib.items():
        out.set(key, value)
    if name in ('ExtrinsicObject', 'RegistryPackage', 'Association', 'Classification', 'ExternalIdentifier') \
            and not out.get('id'):
        out.set('id', new_uuid())
    if name == 'ExtrinsicObject' and not out.get('objectType'):
        out.set('objectType', DE_TYPE)
    if name == 'ExternalIdentifier' and not out.get('registryObject') and parent_id:
        out.set('registryObject', parent_id)
    if name == 'Classification' and not out.get('classifiedObject') and parent_id:
        out.set('classifiedObject', parent_id)
    if name == 'Association':
        short = out.get('associationType', '')
        out.set('associationType', ASSOCIATION_URNS.get(short, short))
    if name == 'LocalizedString' and out.get('value') is None:
        out.set('value', elem.text or '')
    else:
        out.text = elem.text
    children = []
    for child in elem:
        cname = local(child.tag)
        if cname in ('Name', 'Description') and len(child) == 0 and not (child.text or '').strip():
            continue  # an empty 2.1 <Description/> has no 3.0 equivalent
        children.append(_convert21(child, out.get('id') or parent_id))
    if name in ('ExtrinsicObject', 'RegistryPackage', 'Association', 'Classification', 'ExternalIdentifier'):
        rank = {n: i for i, n in enumerate(_CHILD_ORDER)}
        children.sort(key=lambda c: rank.get(local(c.tag), len(rank)))
    for child in children:
        child.tail = None
        out.append(child)
    return out


def to_v3(root):
    """A SubmitObjectsRequest as ebRIM 3.0 (an lcm:SubmitObjectsRequest element): 2.1 requests are
    converted, 3.0 ones returned as they are; a ProvideAndRegisterDocumentSetRequest yields its
    SubmitObjectsRequest."""
    if ns_of(root.tag) == XDSB and local(root.tag) == 'ProvideAndRegisterDocumentSetRequest':
        root = root.find('{%s}SubmitObjectsRequest' % LCM)
    if ns_of(root.tag) != RS21:
        return root
    out = ET.Element('{%s}SubmitObjectsRequest' % LCM)
    for child in root:
        if local(child.tag) == 'LeafRegistryObjectList':
            out.append(_convert21(child, None))
    return out


# ---- engine substitutions ---------------------------------------------------------------------

def _objects(sor):
    """The top-level registry objects of a 3.0 SubmitObjectsRequest (also nested under a
    RegistryObjectList anywhere)."""
    for lst in sor.iter('{%s}RegistryObjectList' % RIM):
        for obj in lst:
            yield obj


def set_patient(sor, patient):
    """Writes the patient id into every patientId ExternalIdentifier (DocumentEntry,
    SubmissionSet, Folder), as the toolkit does unless <NoPatientId/>."""
    for ei in sor.iter('{%s}ExternalIdentifier' % RIM):
        if ei.get('identificationScheme') in PATIENT_SCHEMES:
            ei.set('value', patient)


def assign_uids(sor, keep):
    """Fresh uniqueIds for every DocumentEntry, SubmissionSet and Folder whose symbolic id is not
    in keep (None keeps all). Returns {symbolic id: uniqueId} for every object with a uniqueId,
    assigned or kept."""
    out = {}
    for obj in _objects(sor):
        for ei in obj.findall('{%s}ExternalIdentifier' % RIM):
            if ei.get('identificationScheme') in UNIQUE_SCHEMES:
                oid = obj.get('id')
                if keep is not None and oid not in keep:
                    ei.set('value', new_oid())
                out[oid] = ei.get('value')
    return out


def assign_uuids(sor):
    """<AssignUuids/>: every symbolic id (not already urn:uuid:) becomes a fresh urn:uuid, in the
    id and in every reference to it. Returns {symbolic id: urn:uuid}."""
    mapping = {}
    for elem in sor.iter():
        oid = elem.get('id')
        if oid and not oid.startswith('urn:uuid:') and local(elem.tag) != 'ObjectRef':
            mapping.setdefault(oid, new_uuid())
    for elem in sor.iter():
        for key in _ID_REFS:
            if elem.get(key) in mapping:
                elem.set(key, mapping[elem.get(key)])
    return mapping


def association_types(root):
    """The association types (short names) a metadata tree uses, 2.1 or 3.0."""
    found = set()
    for elem in root.iter():
        if local(elem.tag) == 'Association' and elem.get('associationType'):
            found.add(elem.get('associationType').rsplit(':', 1)[-1])
    return found
