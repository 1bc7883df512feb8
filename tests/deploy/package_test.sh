#!/usr/bin/env bash
# The Debian package (cmake/packaging.cmake), made from this build tree with CPack: it holds
# the binaries, the systemd units, the sysusers entry, the templates and the docs; it
# declares its library dependencies and carries its maintainer scripts; the binaries in it
# run; the units pass systemd-analyze verify and carry the hardening OPERATING.md promises.
#   package_test.sh BUILD_DIR
set -euo pipefail
build=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "package_test: $*" >&2; exit 1; }

(cd "$build" && cpack -G DEB -B "$work/out" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; fail "cpack failed"; }
deb=$(ls "$work"/out/nanum_*.deb)
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/nanumd ./usr/bin/nanumctl ./usr/bin/nanum-oracle \
         ./usr/lib/systemd/system/nanumd.service ./usr/lib/systemd/system/nanum-oracle.service \
         ./usr/lib/sysusers.d/nanum.conf ./usr/share/nanum/templates/nanumd.toml \
         ./usr/share/nanum/templates/nanum-oracle.toml ./usr/share/doc/nanum/OPERATING.md \
         ./usr/share/doc/nanum/examples/nanumd.toml.sample; do
  grep -qx "$f" <<<"$contents" || fail "the package lacks $f"
done
info=$(dpkg-deb -I "$deb")
for dep in libleveldb libgrpc++ libsecp256k1 systemd; do
  grep -q "^ Depends:.*$dep" <<<"$info" || fail "Depends does not name $dep"
done
for s in postinst prerm postrm; do grep -q " $s " <<<"$info" || fail "no $s script"; done

dpkg-deb -x "$deb" "$work/root"
for b in nanumd nanumctl nanum-oracle; do
  "$work/root/usr/bin/$b" --help >/dev/null || fail "$b --help failed"
done
for u in nanumd nanum-oracle; do
  unit="$work/root/usr/lib/systemd/system/$u.service"
  for d in User=nanum Restart=on-failure NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes ProtectHome=yes \
           "StateDirectory=$( [ $u = nanumd ] && echo nanum || echo nanum-oracle)"; do
    grep -qx "$d" "$unit" || fail "$u.service lacks $d"
  done
  sed "s|/usr/bin/|$work/root/usr/bin/|" "$unit" >"$work/$u.service"
done
if command -v systemd-analyze >/dev/null; then
  out=$(systemd-analyze verify "$work/nanumd.service" "$work/nanum-oracle.service" 2>&1) || fail "systemd-analyze: $out"
  [ -z "$out" ] || fail "systemd-analyze: $out"
fi
echo "package_test: $(basename "$deb") ok"
