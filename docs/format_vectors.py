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
    bye = encode("blob", b"bye\n")
    conflict = encode(
        "conflict",
        headers(
            [
                (b"ours-commit", root_id.hex().encode()),
                (b"theirs-commit", multihash("blake3", child).hex().encode()),
                (b"kind", b"content"),
                (b"base", b"100644 " + empty_id.hex().encode()),
                (b"ours", b"100644 " + hello_id.hex().encode()),
                (b"theirs", b"100755 " + multihash("blake3", bye).hex().encode()),
                (b"tried", text_function_id().hex().encode()),
            ],
            b"src/hello.txt",
        ),
    )
    return [
        ("empty blob", empty),
        ("blob", hello),
        ("tree with a file, a symlink, an executable and a subtree", tree),
        ("root commit", root),
        ("commit with a parent, extra headers, a signature and a non-UTF-8 message", child),
        ("annotated tag", tag),
        ("conflict (a queue item)", conflict),
    ]


TEXT_DESCRIPTOR = b"pg merge function\nname text\nversion 1\nparam diff histogram\nparam level zealous\nparam style merge\n"


def text_function_id():
    return multihash("blake3", TEXT_DESCRIPTOR)


def merge_vectors():
    """The merge engine's formats: a function id, and a merge-cache key."""
    function = text_function_id()
    blob = lambda data: multihash("blake3", encode("blob", data))
    base, ours, theirs = blob(b""), blob(b"hello\n"), blob(b"bye\n")
    key = b"".join(bytes([len(i)]) + i for i in [function, base, ours, theirs])
    return [
        ("descriptor of the text function", {"descriptor": TEXT_DESCRIPTOR.hex(), "function-id": function.hex()}),
        ("merge-cache key", {"function": function.hex(), "base": base.hex(), "ours": ours.hex(),
                             "theirs": theirs.hex(), "key": multihash("blake3", key).hex()}),
        ("merge-cache key without a base", {"function": function.hex(), "base": "-", "ours": ours.hex(),
                                            "theirs": theirs.hex(),
                                            "key": multihash("blake3", b"".join(bytes([len(i)]) + i for i in [function, b"", ours, theirs])).hex()}),
    ]


def main():
    for title, encoding in vectors():
        print(f"### Vector: {title}\n")
        print("```vector")
        print(f"encoding: {encoding.hex()}")
        print(f"blake3: {multihash('blake3', encoding).hex()}")
        print(f"sha2-256: {multihash('sha2-256', encoding).hex()}")
        print("```\n")
    for title, fields in merge_vectors():
        print(f"### Merge vector: {title}\n")
        print("```merge-vector")
        for key, value in fields.items():
            print(f"{key}: {value}")
        print("```\n")


if __name__ == "__main__":
    main()
