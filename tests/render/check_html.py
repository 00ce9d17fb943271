#!/usr/bin/env python3
"""check_html.py: checks on a page `cdagate render` wrote (python3 standard library only).

  check_html.py wellformed PAGE          every element closed in order (void elements aside)
  check_html.py coverage SOURCE.xml PAGE  every non-blank text node of every section/text of
                                          the CDA source appears in the page's text
  check_html.py all SOURCE.xml PAGE       the three checks at once
  check_html.py iscda FILE                exit 0 when FILE is namespace-well-formed XML whose
                                          root is {urn:hl7-org:v3}ClinicalDocument
  check_html.py safe PAGE                 no script, no on* or style attribute, no dangerous
                                          element, href only relative/#/http/https/mailto/tel,
                                          src only data:image/(png|jpeg|gif) or a sandboxed PDF
Exit 0 when the check holds; 1 with one line per problem otherwise.
"""
import html.parser
import re
import sys
import xml.parsers.expat

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
DANGEROUS = {"script", "object", "embed", "applet", "base", "form", "link", "frame", "frameset",
             "svg", "math", "template", "noscript", "input", "button", "textarea", "select",
             "audio", "video", "source"}
STRIP = re.compile("[\x00-\x20\x7f-\xa0\u200b-\u200d\u2028\u2029\ufeff]")
SAFE_HREF = re.compile(r"^(#|[^:]*([/?#]|$)|(https?|mailto|tel):)", re.S)
SAFE_SRC = re.compile(r"^data:(image/(png|jpeg|gif)|application/pdf);base64,[A-Za-z0-9+/=]*$")


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.problems, self.text, self.skip = [], [], [], 0

    def handle_starttag(self, tag, attrs):
        self.check(tag, attrs)
        if tag in ("style", "title"):
            self.skip += 1
        if tag not in VOID:
            self.stack.append((tag, self.getpos()[0]))

    def handle_startendtag(self, tag, attrs):
        self.check(tag, attrs)
        if tag not in VOID:
            self.problems.append(f"line {self.getpos()[0]}: <{tag}/> is not a void element")

    def handle_endtag(self, tag):
        if tag in ("style", "title"):
            self.skip = max(0, self.skip - 1)
        if tag in VOID:
            return
        if not self.stack or self.stack[-1][0] != tag:
            top = self.stack[-1][0] if self.stack else "nothing"
            self.problems.append(f"line {self.getpos()[0]}: </{tag}> closes {top}")
            for i in range(len(self.stack) - 1, -1, -1):
                if self.stack[i][0] == tag:
                    del self.stack[i:]
                    break
            return
        self.stack.pop()

    def handle_data(self, data):
        if not self.skip:
            self.text.append(data)

    def check(self, tag, attrs):
        line = self.getpos()[0]
        self.safety = getattr(self, "safety", [])
        if tag in DANGEROUS:
            self.safety.append(f"line {line}: <{tag}> element")
        names = {k for k, _ in attrs}
        for k, v in attrs:
            v = v or ""
            low = STRIP.sub("", v).lower()
            if k.startswith("on"):
                self.safety.append(f"line {line}: event attribute {k}")
            elif k == "style":
                self.safety.append(f"line {line}: style attribute")
            elif k in ("href", "xlink:href", "action", "formaction"):
                if not SAFE_HREF.match(low) or low.startswith(("javascript:", "vbscript:", "data:")):
                    self.safety.append(f"line {line}: {k}={v[:60]!r}")
            elif k in ("src", "srcset", "poster", "data", "background"):
                if not SAFE_SRC.match(v):
                    self.safety.append(f"line {line}: external or unsafe {k}={v[:60]!r}")
                elif tag == "iframe" and v.startswith("data:image"):
                    self.safety.append(f"line {line}: image in a frame")
            elif k == "http-equiv" and v.lower() != "content-type":
                self.safety.append(f"line {line}: http-equiv={v!r}")
        if tag == "iframe":
            sb = dict(attrs).get("sandbox")
            if "sandbox" not in names or (sb and "allow-scripts" in sb):
                self.safety.append(f"line {line}: iframe not sandboxed without scripts")


def load(path):
    p = Page()
    with open(path, encoding="utf-8") as f:
        p.feed(f.read())
    p.close()
    return p


def norm(s):
    return re.sub(r"\s+", " ", s).strip()


def narrative_texts(source):
    """Non-blank text nodes under any {urn:hl7-org:v3}section/text."""
    texts, stack = [], []
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    state = {"depth": 0, "buf": []}

    def flush():
        if state["depth"] and state["buf"]:
            t = norm("".join(state["buf"]))
            if t:
                texts.append(t)
        state["buf"] = []

    def start(name, attrs):
        flush()
        parent = stack[-1] if stack else ""
        stack.append(name)
        if state["depth"]:
            state["depth"] += 1
        elif name == "urn:hl7-org:v3 text" and parent == "urn:hl7-org:v3 section":
            state["depth"] = 1

    def end(name):
        flush()
        stack.pop()
        if state["depth"]:
            state["depth"] -= 1

    def data(d):
        if state["depth"]:
            state["buf"].append(d)

    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.CharacterDataHandler = data
    with open(source, "rb") as f:
        parser.ParseFile(f)
    return texts


def main(argv):
    if len(argv) >= 3 and argv[1] == "wellformed":
        p = load(argv[2])
        probs = p.problems + [f"<{t}> opened on line {n} is never closed" for t, n in p.stack]
    elif len(argv) >= 4 and argv[1] == "coverage":
        page = norm(" ".join(load(argv[3]).text))
        nospace = page.replace(" ", "")
        probs = []
        for t in narrative_texts(argv[2]):
            if t not in page and t.replace(" ", "") not in nospace:
                probs.append(f"narrative text not in the page: {t[:100]!r}")
    elif len(argv) >= 3 and argv[1] == "iscda":
        try:
            root = []
            parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
            parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
            parser.StartElementHandler = lambda name, attrs: root.append(name)
            with open(argv[2], "rb") as f:
                parser.ParseFile(f)
            return 0 if root and root[0] == "urn:hl7-org:v3 ClinicalDocument" else 1
        except (xml.parsers.expat.ExpatError, OSError):
            return 1
    elif len(argv) >= 4 and argv[1] == "all":
        p = load(argv[3])
        probs = p.problems + [f"<{t}> opened on line {n} is never closed" for t, n in p.stack]
        probs += getattr(p, "safety", [])
        page = norm(" ".join(p.text))
        nospace = page.replace(" ", "")
        for t in narrative_texts(argv[2]):
            if t not in page and t.replace(" ", "") not in nospace:
                probs.append(f"narrative text not in the page: {t[:100]!r}")
    elif len(argv) >= 3 and argv[1] == "safe":
        p = load(argv[2])
        probs = getattr(p, "safety", [])
    else:
        sys.stderr.write(__doc__)
        return 2
    for pr in probs[:20]:
        print(f"{argv[-1]}: {pr}")
    if len(probs) > 20:
        print(f"{argv[-1]}: ... {len(probs) - 20} more")
    return 1 if probs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
