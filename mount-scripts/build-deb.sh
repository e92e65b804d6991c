#!/usr/bin/env bash
# Builds the Debian package wxmediafs_VERSION_ARCH.deb from the stripped release binary: the
# binary, the mount(8) helper, the systemd unit, shell completions, the manual page and the docs.
# Prints the package's path on stdout; builds go to stderr.
# Usage: bash mount-scripts/build-deb.sh [RELEASE_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${1:-$(bash mount-scripts/build-release.sh)}
version=$("$bin" --version | awk '{print $2}')
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "build-deb: no version from $bin --version" >&2; exit 1; }
arch=$(dpkg --print-architecture)

root=.build/deb/wxmediafs_${version}_${arch}
rm -rf "$root"
install -d "$root/DEBIAN" "$root/usr/bin" "$root/usr/sbin" "$root/usr/lib/systemd/system" \
    "$root/usr/share/man/man1" "$root/usr/share/doc/wxmediafs/docs" \
    "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" \
    "$root/usr/share/fish/vendor_completions.d" "$root/usr/share/lintian/overrides"
install -m 0755 "$bin" "$root/usr/bin/wxmediafs"
# /sbin is /usr/sbin on Debian since 12: mount(8) finds the helper there as /sbin/mount.wxmediafs.
install -m 0755 mount-scripts/mount.wxmediafs "$root/usr/sbin/mount.wxmediafs"
sed 's|/usr/local/bin/wxmediafs|/usr/bin/wxmediafs|g' mount-scripts/wxmediafs@.service \
    > "$root/usr/lib/systemd/system/wxmediafs@.service"
chmod 0644 "$root/usr/lib/systemd/system/wxmediafs@.service"
# bash-completion sources the file: it is no script of its own, so no #! line.
"$bin" --generate-completion-script bash | sed '1{/^#!/d}' > "$root/usr/share/bash-completion/completions/wxmediafs"
"$bin" --generate-completion-script zsh > "$root/usr/share/zsh/vendor-completions/_wxmediafs"
"$bin" --generate-completion-script fish > "$root/usr/share/fish/vendor_completions.d/wxmediafs.fish"
gzip -9n < docs/wxmediafs.1 > "$root/usr/share/man/man1/wxmediafs.1.gz"
install -m 0644 README.md "$root/usr/share/doc/wxmediafs/README.md"
install -m 0644 docs/*.md docs/*.png "$root/usr/share/doc/wxmediafs/docs/"
commit=$("$bin" --version | sed -n 's/.*(commit \(.*\)).*/\1/p')
{
    echo "wxmediafs ($version) unstable; urgency=medium"
    echo
    echo "  * Built from commit $commit."
    echo
    echo " -- wxmediafs maintainers <maintainers@wxmediafs.invalid>  $(date -R -d @"${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")"
} | gzip -9n > "$root/usr/share/doc/wxmediafs/changelog.gz"
cat > "$root/usr/share/doc/wxmediafs/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: wxmediafs
Comment: The wxmediafs repository states no license; its authors keep all rights. The binary
 links in the Swift runtime and Foundation (Apache-2.0 with Runtime Library Exception), and the
 Swift packages listed in its Package.swift, each under its own license.

Files: *
Copyright: 2025-2026 the wxmediafs authors
License: none-stated
 No license is granted beyond what the authors state.
COPYRIGHT

# The release binary links its Swift packages in statically, and AsyncHTTPClient's response
# decompression brings swift-nio-extras' own copy of zlib (CNIOExtrasZlib, its symbols renamed
# cnioextras_z_*), and Yams its own libyaml (CYaml), which lintian finds by their version
# strings. They are part of the source the binary is built from, as with Go and Rust programs;
# said so, not hidden.
cat > "$root/usr/share/lintian/overrides/wxmediafs" <<'OVERRIDES'
# swift-nio-extras vendors zlib with renamed symbols (CNIOExtrasZlib); AsyncHTTPClient links it
# for response decompression, and the release binary links its Swift packages statically.
wxmediafs: embedded-library zlib [usr/bin/wxmediafs]
# Yams (article front matter) is libyaml's C source with a Swift API over it (its CYaml target):
# the same static linking of a package's own copy.
wxmediafs: embedded-library libyaml [usr/bin/wxmediafs]
OVERRIDES

# What the binary links, as Debian package dependencies; fuse3 for fusermount3, which unmounts.
shlibs=$(cd .build/deb && mkdir -p debian && printf 'Source: wxmediafs\n\nPackage: wxmediafs\nArchitecture: any\n' > debian/control \
    && dpkg-shlibdeps -O "$(pwd)/wxmediafs_${version}_${arch}/usr/bin/wxmediafs" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[[ -n $shlibs ]] || { echo "build-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: wxmediafs
Version: $version
Architecture: $arch
Maintainer: wxmediafs maintainers <maintainers@wxmediafs.invalid>
Installed-Size: $size
Depends: $shlibs, fuse3
Recommends: attr
Section: utils
Priority: optional
Description: WeChat Official Account media as a FUSE filesystem
 wxmediafs mounts a WeChat Official Account's temporary media as a folder:
 cp into image/, voice/, video/ or thumb/ uploads on close() and shows the
 media id in NAME.media_id; by-id/MEDIA_ID downloads lazily. It includes a
 faithful local emulator of the media API (wxmediafs emulator) for demos
 and tests.
CONTROL
(cd "$root" && find usr -type f -print0 | sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
out=.build/deb/wxmediafs_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >&2
echo "$(pwd)/$out"
