#!/usr/bin/env python3
"""Where the release binary's bytes go: by ELF section (of the stripped binary) and by library
(from the symbol sizes of the unstripped one, each symbol given to the Swift module its mangled
name names, or to a C/C++ library by its prefix).

Usage: python3 Benchmarks/binary-size.py [UNSTRIPPED] [STRIPPED]
(defaults: .build/release/wxmediafs and .build/release-stripped/wxmediafs, as
mount-scripts/build-release.sh leaves them)."""
import collections
import re
import subprocess
import sys

unstripped = sys.argv[1] if len(sys.argv) > 1 else ".build/release/wxmediafs"
stripped = sys.argv[2] if len(sys.argv) > 2 else ".build/release-stripped/wxmediafs"

# Prefixes of C and C++ symbols, and of Swift modules, by the library that brings them.
C_LIBRARIES = [
    (re.compile(r"^icudt"), "ICU data (Foundation's internationalization)"),
    (re.compile(r"^(_ZN\d*icu_|u_|ucol_|ubrk_|ures_|uloc_|unum_|udat_|ucal_|utrans_|uregex_|ucnv_|uset_|ustr|utf8_|ubidi|ucase|uprv_|_ZN6icu_)"), "ICU code"),
    (re.compile(r"^(CNIOBoringSSL|_ZL\d*ecp_nistz|ecp_nistz|_ZL\d+kOpenSSL)"), "BoringSSL (swift-nio-ssl)"),
    (re.compile(r"^cnioextras_z|^_ZL\d*(inflate|deflate|crc)"), "zlib (swift-nio-extras' copy)"),
    (re.compile(r"^(swift_|_swift_|_ZL\d*_swift|_ZN5swift|_ZL\d*swift|__swift)"), "Swift runtime"),
    (re.compile(r"^(_CF|CF|__CF|_ZL\d*__CF|__kCF|kCF)"), "CoreFoundation"),
    (re.compile(r"^(dispatch_|_dispatch|_ZL\d*_dispatch|_os_object)"), "libdispatch"),
    (re.compile(r"^(c_nio|CNIO|nio_)"), "swift-nio C shims"),
    (re.compile(r"^(llhttp|c_nio_llhttp)"), "llhttp (swift-nio)"),
]
SWIFT_GROUPS = {
    "Swift standard library": {"s", "Swift", "_StringProcessing", "_RegexParser", "_Concurrency", "Synchronization", "RegexBuilder"},
    "Foundation": {"Foundation", "FoundationEssentials", "FoundationInternationalization", "FoundationNetworking",
                   "FoundationXML", "_FoundationCollections", "10Foundation"},
}


def swift_module(name):
    """The module a Swift mangled name ($s...) belongs to: its first identifier."""
    match = re.match(r"^\$s(\d+)", name)
    if not match:
        if name.startswith("$sS") or name.startswith("$ss"):
            return "Swift"
        return "Swift" if name.startswith("$s") else None
    length = int(match.group(1))
    start = match.end()
    return name[start:start + length]


def group(name):
    if name.startswith("$s"):
        module = swift_module(name) or "Swift"
        for label, modules in SWIFT_GROUPS.items():
            if module in modules:
                return label
        return "Swift module " + module
    for pattern, label in C_LIBRARIES:
        if pattern.search(name):
            return label
    return "other C/C++"


sizes = collections.Counter()
symbols = subprocess.run(["nm", "-S", "--size-sort", unstripped], capture_output=True, text=True, check=True)
for line in symbols.stdout.splitlines():
    parts = line.split(None, 3)
    if len(parts) != 4:
        continue
    sizes[group(parts[3])] += int(parts[1], 16)

sections = subprocess.run(["size", "-A", stripped], capture_output=True, text=True, check=True)
total = None
print("## By section (stripped binary)\n\n| section | bytes |\n|---|---:|")
rows = []
for line in sections.stdout.splitlines()[2:]:
    parts = line.split()
    if len(parts) >= 2 and parts[1].isdigit():
        if parts[0] == "Total":
            total = int(parts[1])
        else:
            rows.append((int(parts[1]), parts[0]))
for size, name in sorted(rows, reverse=True)[:10]:
    print(f"| `{name}` | {size:,} |")
print(f"| total (file {subprocess.run(['stat', '-c', '%s', stripped], capture_output=True, text=True).stdout.strip()} bytes) | {total:,} |")

# Swift modules of this package, and the packages' modules, grouped by package where known.
PACKAGES = [
    ("this package", re.compile(r"^Swift module (wxmediafs|WeChatMedia|WeChatMediaFS|WeChatEmulator|FUSEKit|MediaCatalog|FleetCatalog|LocalByteStore|Deadlines)$")),
    ("GRDB", re.compile(r"^Swift module GRDB")),
    ("postgres-nio", re.compile(r"^Swift module (PostgresNIO|_ConnectionPoolModule)")),
    ("swift-nio, -ssl, -extras, -http2, -transport-services", re.compile(r"^Swift module (NIO|_NIO|CNIO)")),
    ("Hummingbird", re.compile(r"^Swift module Hummingbird")),
    ("AsyncHTTPClient", re.compile(r"^Swift module AsyncHTTPClient")),
    ("swift-crypto", re.compile(r"^Swift module (Crypto|_Crypto|CCrypto)")),
    ("swift-argument-parser", re.compile(r"^Swift module ArgumentParser")),
    ("MultipartKit", re.compile(r"^Swift module MultipartKit")),
    ("swift-prometheus, swift-metrics", re.compile(r"^Swift module (Prometheus|Metrics|CoreMetrics)")),
    ("swift-async-algorithms, swift-algorithms", re.compile(r"^Swift module (AsyncAlgorithms|Algorithms)$")),
    ("swift-collections", re.compile(r"^Swift module (_RopeModule|HashTreeCollections|OrderedCollections|DequeModule|HeapModule|BitCollections|InternalCollectionsUtilities|_CollectionsUtilities)$")),
    ("swift-configuration (Hummingbird's)", re.compile(r"^Swift module Configuration$")),
    ("swift-asn1, swift-certificates", re.compile(r"^Swift module (SwiftASN1|X509|_CertificateInternals)$")),
    ("swift-system", re.compile(r"^Swift module SystemPackage$")),
    ("swift-service-lifecycle", re.compile(r"^Swift module (ServiceLifecycle|UnixSignals)$")),
    ("swift-http-types", re.compile(r"^Swift module HTTPTypes")),
]
packaged = collections.Counter()
for label, size in sizes.items():
    for package, pattern in PACKAGES:
        if pattern.match(label):
            packaged[package] += size
            break
    else:
        packaged[label if not label.startswith("Swift module ") else "other Swift modules"] += size
print("\n## By library (symbol sizes of the unstripped binary)\n\n| library | bytes |\n|---|---:|")
for label, size in packaged.most_common():
    print(f"| {label} | {size:,} |")
print(f"| all symbols | {sum(sizes.values()):,} |")
