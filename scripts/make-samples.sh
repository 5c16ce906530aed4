#!/usr/bin/env bash
# Generate the DICOM sample variants that the pydicom samples in dicom-samples/ lack:
# more transfer syntaxes (JPEG lossless process 14 / SV1, JPEG-LS near-lossless, JPEG
# baseline 8-bit grayscale), non-ASCII character sets (ISO_IR 192, ISO_IR 100) with issuers,
# and files with invalid Study Instance UIDs that the daemon must refuse.
#
# Output: dicom-samples/generated/ and dicom-samples/bad/generated/ (both replaced on every
# run). Every output gets fixed Study/Series/SOP Instance UIDs under UID_ROOT, so re-running
# gives byte-identical files. Only DCMTK tools (dcmcjpeg, dcmcjpls, dcmodify, dcmdump) and
# coreutils are used. See dicom-samples/README-generated.md for the list of files.
#
# Usage: bash scripts/make-samples.sh        (from any directory; also `npm run samples`)
set -euo pipefail
export LC_ALL=C

script_dir="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
samples="$(cd -- "$script_dir/../dicom-samples" && pwd)"
out="$samples/generated"
bad_out="$samples/bad/generated"

# UUID-derived UID root (PS3.5 B.2, "2.25." + a fixed random UUID as a decimal integer),
# owned by this project for test data only. Sub-arcs: <root>.<n>.1 study, .2 series,
# .3 instance, where n is the sample's number below.
UID_ROOT='2.25.121393553256475818467689392626788434393'

die() {
  echo "make-samples: $*" >&2
  exit 1
}

for tool in dcmcjpeg dcmcjpls dcmodify dcmdump; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (install DCMTK: apt-get install dcmtk)"
done

tmp="$(mktemp -d)"
trap 'rm -rf -- "$tmp"' EXIT
mkdir -p "$tmp/generated" "$tmp/bad"

# set_uids FILE N DESCRIPTION: give FILE its own study, series and instance (the file meta
# MediaStorageSOPInstanceUID follows the SOP Instance UID) and label the series.
set_uids() {
  local file="$1" n="$2" desc="$3"
  dcmodify -q -nb \
    -i "(0020,000D)=$UID_ROOT.$n.1" \
    -i "(0020,000E)=$UID_ROOT.$n.2" \
    -i "(0008,0018)=$UID_ROOT.$n.3" \
    -i "(0008,103E)=$desc" \
    "$file"
}

# check FILE TRANSFER_SYNTAX_UID: the file must parse completely and carry that syntax.
check() {
  local file="$1" want="$2" got
  dcmdump -q +fo "$file" >/dev/null || die "dcmdump cannot read $file"
  got="$(dcmdump -q +fo -M -Un +P 0002,0010 "$file" | sed -n 's/^.*UI \[\([0-9.]*\)\].*$/\1/p')"
  [[ "$got" == "$want" ]] || die "$file: transfer syntax $got, expected $want"
}

S="$samples/single"
G="$tmp/generated"
B="$tmp/bad"

# 1. JPEG Lossless, Non-Hierarchical, Process 14 (selection value 6), 16-bit signed MR.
dcmcjpeg -q +el +sv 6 +un "$S/MR_small.dcm" "$G/MR_small_jpeg_lossless_p14_sv6.dcm"
set_uids "$G/MR_small_jpeg_lossless_p14_sv6.dcm" 1 'bridge sample: JPEG lossless P14 SV6'
check "$G/MR_small_jpeg_lossless_p14_sv6.dcm" 1.2.840.10008.1.2.4.57

# 2. JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14, SV1), 16-bit CT.
dcmcjpeg -q +e1 +un "$S/CT_small.dcm" "$G/CT_small_jpeg_lossless_sv1.dcm"
set_uids "$G/CT_small_jpeg_lossless_sv1.dcm" 2 'bridge sample: JPEG lossless SV1'
check "$G/CT_small_jpeg_lossless_sv1.dcm" 1.2.840.10008.1.2.4.70

# 3. JPEG-LS near-lossless (NEAR=2), 12-bit unsigned MONOCHROME1 CR (DCMTK's JPEG-LS
#    near-lossless encoder refuses signed pixels, so not the MR/CT samples).
dcmcjpls -q +en +md 2 +un "$samples/studies/77654033/CR1/6154" "$G/CR_jpeg_ls_near_lossless.dcm"
set_uids "$G/CR_jpeg_ls_near_lossless.dcm" 3 'bridge sample: JPEG-LS near-lossless'
check "$G/CR_jpeg_ls_near_lossless.dcm" 1.2.840.10008.1.2.4.81

# 4. JPEG Baseline (Process 1), 8-bit MONOCHROME2 secondary capture (the only baseline
#    sample, SC_rgb_jpeg_dcmtk.dcm, is colour). Source is deflate-encoded.
dcmcjpeg -q +eb +q 90 +un "$S/image_dfl.dcm" "$G/SC_gray8_jpeg_baseline.dcm"
set_uids "$G/SC_gray8_jpeg_baseline.dcm" 4 'bridge sample: JPEG baseline gray 8-bit'
check "$G/SC_gray8_jpeg_baseline.dcm" 1.2.840.10008.1.2.4.50

# 5. ISO_IR 192 (UTF-8) text, patient id + issuer, accession + issuer sequence.
#    Bytes are written as given: UTF-8 for "Müller^Jörg", "Knie MRT Übersicht".
cp -- "$S/MR_small.dcm" "$G/MR_utf8_iso_ir_192.dcm"
chmod 0644 "$G/MR_utf8_iso_ir_192.dcm"
dcmodify -q -nb \
  -i "(0008,0005)=ISO_IR 192" \
  -i "(0010,0010)="$'M\xc3\xbcller^J\xc3\xb6rg' \
  -i "(0010,0020)=BRG-UTF8-0001" \
  -i "(0010,0021)=BRIDGE-TEST-HOSP-A" \
  -i "(0008,0050)=BRGA000501" \
  -i "(0008,0051)[0].(0040,0031)=BRIDGE-TEST-RIS-A" \
  -i "(0008,1030)="$'Knie MRT \xc3\x9cbersicht' \
  "$G/MR_utf8_iso_ir_192.dcm"
set_uids "$G/MR_utf8_iso_ir_192.dcm" 5 'bridge sample: ISO_IR 192'
check "$G/MR_utf8_iso_ir_192.dcm" 1.2.840.10008.1.2.1

# 6. ISO_IR 100 (Latin-1) text, patient id + issuer, accession without issuer sequence.
#    Bytes are Latin-1: 0xF2 for "ò" in "Rossi^Niccolò", 0xE9 for "é" in "perché".
cp -- "$S/CT_small.dcm" "$G/CT_latin1_iso_ir_100.dcm"
chmod 0644 "$G/CT_latin1_iso_ir_100.dcm"
dcmodify -q -nb \
  -i "(0008,0005)=ISO_IR 100" \
  -i "(0010,0010)="$'Rossi^Niccol\xf2' \
  -i "(0010,0020)=BRG-L1-0002" \
  -i "(0010,0021)=BRIDGE-TEST-HOSP-B" \
  -i "(0008,0050)=BRGB000602" \
  -i "(0008,1030)="$'TC torace perch\xe9 urgente' \
  "$G/CT_latin1_iso_ir_100.dcm"
set_uids "$G/CT_latin1_iso_ir_100.dcm" 6 'bridge sample: ISO_IR 100'
check "$G/CT_latin1_iso_ir_100.dcm" 1.2.840.10008.1.2.1

# 7-9. Invalid Study Instance UIDs (must be refused before they become storage keys).
#      Series and SOP Instance UIDs stay valid and unique.
bad_study_uid() {
  local name="$1" n="$2" study_uid="$3"
  cp -- "$S/CT_small.dcm" "$B/$name"
  chmod 0644 "$B/$name"
  set_uids "$B/$name" "$n" 'bridge sample: invalid StudyInstanceUID'
  dcmodify -q -nb -i "(0020,000D)=$study_uid" "$B/$name"
  check "$B/$name" 1.2.840.10008.1.2.1
}
# letters in a component
bad_study_uid CT_bad_study_uid_letters.dcm 7 '1.2.3.abc'
# 70 characters, all digits and dots (maximum is 64)
bad_study_uid CT_bad_study_uid_70_chars.dcm 8 \
  "$UID_ROOT.8.1.1234567890.1234567890"
# path traversal
bad_study_uid CT_bad_study_uid_path_traversal.dcm 9 '../../../../tmp/bridge-escape'

# Replace the previous output only once everything above succeeded.
rm -rf -- "$out" "$bad_out"
mkdir -p -- "$out" "$bad_out"
cp -- "$G"/*.dcm "$out/"
cp -- "$B"/*.dcm "$bad_out/"
chmod 0644 "$out"/*.dcm "$bad_out"/*.dcm

echo "make-samples: wrote $(find "$out" "$bad_out" -name '*.dcm' | wc -l) files to $out and $bad_out"
