#!/usr/bin/env python3
"""An independent implementation of pg's object encoding, used to derive the test
vectors in docs/FORMAT.md (pip install blake3). pg's own test (core/tests/format_vectors.rs)
checks its Rust implementation against the vectors, so the two implementations agree.

Run: python3 docs/format_vectors.py  > prints the vector blocks in Markdown.
"""
import hashlib

import blake3


def multihash(algorithm, data):
    if algorithm == "blake3":
        return bytes([0x1E, 0x20]) + blake3.blake3(data).digest()
    return bytes([0x12, 0x20]) + hashlib.sha256(data).digest()


def encode(kind, body):
    return f"{kind} {len(body)}".encode() + b"\0" + body


def headers(pairs, message):
    out = b""
    for key, value in pairs:
        out += key + b" " + value.replace(b"\n", b"\n ") + b"\n"
    return out + b"\n" + message


def vectors():
    hello = encode("blob", b"hello\n")
    empty = encode("blob", b"")
    hello_id = multihash("blake3", hello)
    empty_id = multihash("blake3", empty)
    sub = encode("tree", b"100644 empty\0" + empty_id)
    sub_id = multihash("blake3", sub)
    # git order: "run.sh" < "sub" (a tree sorts as "sub/").
    tree = encode(
        "tree",
        b"100644 hello.txt\0" + hello_id + b"120000 link\0" + hello_id + b"100755 run.sh\0" + empty_id + b"40000 sub\0" + sub_id,
    )
    tree_id = multihash("blake3", tree)
    author = b"A U Thor <author@example.com> 1700000000 +0100"
    root = encode(
        "commit",
        headers([(b"tree", tree_id.hex().encode()), (b"author", author), (b"committer", author)], b"first\n"),
    )
    root_id = multihash("blake3", root)
    sig = b"-----BEGIN PGP SIGNATURE-----\n\niQEz\n-----END PGP SIGNATURE-----"
    child = encode(
        "commit",
        headers(
            [
                (b"tree", tree_id.hex().encode()),
                (b"parent", root_id.hex().encode()),
                (b"author", b"J\xf6rg <j@example.com> 1700003600 -1345"),
                (b"committer", b"C O Mitter <c@example.com> 1700003600 -0000"),
                (b"encoding", b"ISO-8859-1"),
                (b"gpgsig", sig),
            ],
            b"Gr\xfc\xdfe\n",
        ),
    )
    tag = encode(
        "tag",
        headers(
            [
                (b"object", root_id.hex().encode()),
                (b"type", b"commit"),
                (b"tag", b"v1.0"),
                (b"tagger", b"T Agger <t@example.com> 1700007200 +0530"),
            ],
            b"release 1.0\n",
        ),
    )
    return [
        ("empty blob", empty),
        ("blob", hello),
        ("tree with a file, a symlink, an executable and a subtree", tree),
        ("root commit", root),
        ("commit with a parent, extra headers, a signature and a non-UTF-8 message", child),
        ("annotated tag", tag),
    ]


def main():
    for title, encoding in vectors():
        print(f"### Vector: {title}\n")
        print("```vector")
        print(f"encoding: {encoding.hex()}")
        print(f"blake3: {multihash('blake3', encoding).hex()}")
        print(f"sha2-256: {multihash('sha2-256', encoding).hex()}")
        print("```\n")


if __name__ == "__main__":
    main()
