#!/usr/bin/env python3
"""Scoring throughput from an archive over DICOMweb against the same objects from disk, in one run.

    python3 Benchmarks/dicomweb/from_orthanc.py [--images 48] [--rounds 3] [--max-requests 4]

Wraps the end-to-end benchmark's camera-like photos (12 MP JPEGs, quality 90; generated once
into $TMPDIR/veil-bench-corpus) as VL Photographic Image objects, JPEG Baseline, into a folder,
starts Debian's Orthanc with its DICOMweb plugin and authentication on a loopback port, stores
them there with STOW-RS, then times in turn, --rounds times:
  - `veil score --no-faces FOLDER`, the objects from disk;
  - `veil score --no-faces --dicomweb URL`, the same objects searched with QIDO-RS and
    retrieved with WADO-RS from Orthanc over loopback.
Each rate is Veil's own summary line (first object to last record). Each ratio is taken within
a round; the median and range are printed. Target: DICOMweb at >= 90% of the from-disk rate.
Needs orthanc and orthanc-dicomweb (Debian) and pydicom, numpy and pillow (installed into a
venv beside this script when missing).
"""
import argparse, json, os, re, socket, subprocess, sys, tempfile, time, urllib.request, uuid, base64

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
VENV = os.path.join(HERE, ".venv")


def ensure_packages():
    try:
        import pydicom, numpy, PIL  # noqa: F401
    except ImportError:
        py = os.path.join(VENV, "bin", "python")
        if os.path.abspath(sys.executable) == os.path.abspath(py):
            raise
        if not os.path.exists(py):
            subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
            subprocess.run([py, "-m", "pip", "install", "-q", "pydicom==3.0.2", "numpy", "pillow"], check=True)
        os.execv(py, [py] + sys.argv)


def dicom_corpus(n):
    """The photos as JPEG Baseline VL Photographic objects, written once."""
    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEGBaseline8Bit, generate_uid
    from PIL import Image
    sys.path.insert(0, os.path.join(ROOT, "Benchmarks", "peers"))
    from end_to_end import corpus
    _, photos = corpus(n)
    folder = os.path.join(tempfile.gettempdir(), "veil-bench-dicom")
    os.makedirs(folder, exist_ok=True)
    study = generate_uid(entropy_srcs=["veil-bench-study"])
    for i, photo in enumerate(photos):
        path = os.path.join(folder, f"photo-{i:04d}.dcm")
        if os.path.exists(path):
            continue
        with Image.open(photo) as img:
            width, height = img.size
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.77.1.4"
        meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=["veil-bench", str(i)])
        meta.TransferSyntaxUID = JPEGBaseline8Bit
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID = study
        ds.SeriesInstanceUID = generate_uid(entropy_srcs=["veil-bench-series", str(i // 16)])
        ds.Modality = "XC"
        ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "YBR_FULL_422", 0
        ds.Rows, ds.Columns = height, width
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
        ds.PixelData = encapsulate([open(photo, "rb").read()])
        ds["PixelData"].is_undefined_length = True
        ds.save_as(path, enforce_file_format=True)
    return folder, sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".dcm"))[:n]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_orthanc(workdir, password):
    port = free_port()
    config = {"Name": "veil-bench", "StorageDirectory": os.path.join(workdir, "storage"),
              "IndexDirectory": os.path.join(workdir, "storage"), "HttpPort": port, "RemoteAccessAllowed": False,
              "Plugins": ["/usr/share/orthanc/plugins/libOrthancDicomWeb.so"], "AuthenticationEnabled": True,
              "RegisteredUsers": {"veil": password}, "DicomServerEnabled": False,
              "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": False}}
    path = os.path.join(workdir, "orthanc.json")
    json.dump(config, open(path, "w"))
    log = open(os.path.join(workdir, "orthanc.log"), "w")
    process = subprocess.Popen(["/usr/sbin/Orthanc", path], stdout=log, stderr=log)
    for _ in range(300):
        try:
            request(port, password, "GET", "/system")
            return process, port
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"Orthanc did not start; see {workdir}/orthanc.log")


def request(port, password, method, path, body=None, headers=None):
    token = base64.b64encode(f"veil:{password}".encode()).decode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method,
                                 headers={"Authorization": "Basic " + token, **(headers or {})})
    with urllib.request.urlopen(req, timeout=300) as response:
        return response.read()


def stow(port, password, files):
    for i in range(0, len(files), 8):
        boundary = uuid.uuid4().hex
        body = b"".join(b"--" + boundary.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n" + open(f, "rb").read() + b"\r\n"
                        for f in files[i:i + 8]) + b"--" + boundary.encode() + b"--\r\n"
        request(port, password, "POST", "/dicom-web/studies", body,
                {"Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
                 "Accept": "application/dicom+json"})


def rate(command):
    out = subprocess.run(command, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{out.stderr[-2000:]}")
    summary = [line for line in out.stderr.splitlines() if line.startswith("veil: scored")][-1]
    return float(re.search(r"([0-9.]+) images/s", summary).group(1)), summary


def main():
    ensure_packages()
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=48)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--max-requests", type=int, default=4)
    args = ap.parse_args()
    folder, files = dicom_corpus(args.images)
    subprocess.run(["swift", "build", "-c", "release", "--product", "veil"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    veil = os.path.join(ROOT, ".build", "release", "veil")
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    flags = next((l for l in open("/proc/cpuinfo") if l.startswith("flags")), "")
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "baseline"
    workdir = tempfile.mkdtemp(prefix="veil-bench-orthanc-")
    password = uuid.uuid4().hex
    credentials = os.path.join(workdir, "credentials")
    with open(credentials, "w") as f:
        f.write(f"veil:{password}\n")
    orthanc, port = start_orthanc(workdir, password)
    try:
        stow(port, password, files)
        url = f"http://127.0.0.1:{port}/dicom-web"
        rounds = []
        for _ in range(args.rounds):
            disk, _ = rate([veil, "score", "--no-faces", folder])
            web, summary = rate([veil, "score", "--no-faces", "--dicomweb", url, "--credentials-file", credentials,
                                 "--max-requests", str(args.max_requests)])
            if f"scored {len(files)}," not in summary:
                raise SystemExit(f"the DICOMweb run did not score every object: {summary}")
            rounds.append((disk, web))
    finally:
        orthanc.kill()
    mb = sum(os.path.getsize(f) for f in files) / len(files) / 1e6
    median = lambda v: sorted(v)[len(v) // 2]
    ratios = [w / d for d, w in rounds]
    print(f"CPU: {cpu} ({isa}), {os.cpu_count()} cores; {len(files)} objects of {mb:.1f} MB (12 MP JPEG Baseline)")
    print(f"from disk:          {median([d for d, _ in rounds]):6.2f} images/s (median of {args.rounds})")
    print(f"from Orthanc (web): {median([w for _, w in rounds]):6.2f} images/s, --max-requests {args.max_requests}")
    print(f"ratio web/disk: median {median(ratios):.2f} (range {min(ratios):.2f}-{max(ratios):.2f}); target >= 0.90")


if __name__ == "__main__":
    main()
