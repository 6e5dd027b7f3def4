#!/usr/bin/env python3
"""Says whether two files hold the same JSON document, members in the same
order (spacing aside), and where they first differ when not.

usage: same_json.py DUBAN_FILE PEER_FILE
Prints one line; exits 0 when the documents are the same, 1 when not."""
import json
import sys


def first_difference(a, b, where="$"):
    """The path and nature of the first difference, or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            return f"{where}: members {list(a)} against {list(b)}"
        for k in a:
            d = first_difference(a[k], b[k], f"{where}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{where}: {len(a)} items against {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{where}[{i}]")
            if d:
                return d
        return None
    if type(a) is not type(b) or a != b:
        return f"{where}: {json.dumps(a, ensure_ascii=False)[:80]} against {json.dumps(b, ensure_ascii=False)[:80]}"
    return None


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    docs = []
    for path in sys.argv[1:]:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        try:
            docs.append(json.loads(text))
        except ValueError as e:
            print(f"{path} is not JSON ({e}): {text[:120]!r}")
            sys.exit(1)
    d = first_difference(*docs)
    if d:
        print(f"they differ at {d}")
        sys.exit(1)
    members = len(docs[0]) if isinstance(docs[0], dict) else 0
    print(f"the same document ({members} members, in the same order)")


if __name__ == "__main__":
    main()
