#!/usr/bin/env bash
# Installs the Debian packages Veil builds against, but only those that are missing.
# Sourced by scripts/run.sh and scripts/test.sh; safe to run on its own.
set -euo pipefail

packages=(pkg-config libturbojpeg0-dev libjpeg-dev libpng-dev zlib1g-dev libopenblas-dev libsqlite3-dev libssl-dev
          libopenjp2-7-dev libcharls-dev)
# With --test, also the independent tools the tests check Veil's output with: pydicom, from
# Debian (so that it is the system Python's, at /usr/bin/python3), reads the DICOM JSON that
# `veil review export --format dicom-json` writes and compares labelled copies with their
# originals; DCMTK's dcmdump must parse every labelled copy; python3-bcrypt checks the review
# desk's password hashes both ways; Chromium, driven through chromium-driver and
# python3-selenium, uses the review desk as a reviewer would; openssl makes the desk's test
# certificate and curl fetches pages over TLS with it. Orthanc, with its DICOMweb plugin, is
# the archive the DICOMweb tests score from and label into; the suite starts its own on a
# loopback port, with socat terminating TLS in front of it.
if [ "${1:-}" = "--test" ]; then
  packages+=(python3-pydicom dcmtk python3-bcrypt chromium chromium-driver python3-selenium openssl curl
             orthanc orthanc-dicomweb socat)
fi
missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "veil: installing missing system packages: ${missing[*]}" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
