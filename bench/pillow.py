"""--compare's Pillow (bench/compare.ts): Image.draft + thumbnail, the original Python design, on
bench/engine.ts's worker protocol. Same output as our engine: 256x256-inside JPEG q80 on white."""
import io, json, os, resource, sys, time

try:
    import PIL
    from PIL import Image, ImageOps
except ImportError:
    sys.exit(f"no Pillow for {sys.executable} (Debian: apt-get install python3-pil)")


# Node's IPC channel (spawn with "ipc" in stdio): one JSON message per line, both ways.
channel = int(os.environ["NODE_CHANNEL_FD"])
replies = os.fdopen(os.dup(channel), "w", buffering=1)


def reply(message):
    replies.write(json.dumps(message) + "\n")


def thumbnail(path):
    with Image.open(path) as im:
        im.draft("RGB", (256, 256))  # JPEG: let libjpeg decode at 1/2, 1/4 or 1/8 scale
        if im.mode in ("P", "1"):
            # Pillow resizes palette images with nearest neighbour (aliased): convert first so
            # its thumbnail is antialiased like ours, a like-for-like comparison.
            im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        im.thumbnail((256, 256))
        im = ImageOps.exif_transpose(im)
        if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
            im = im.convert("RGBA")
            flat = Image.new("RGB", im.size, (255, 255, 255))
            flat.paste(im, mask=im.getchannel("A"))
            im = flat
        elif im.mode != "RGB":
            im = im.convert("RGB")
        im.save(io.BytesIO(), "JPEG", quality=80)


python = sys.version.split()[0]
settings = {"pillow": PIL.__version__, "python": python, "interpreter": sys.executable, "threads": 1}
reply({"ready": True, "settings": settings})
for line in os.fdopen(channel):
    request = json.loads(line)
    if request.get("rss"):
        reply({"maxRssKb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss})
        continue
    c0 = time.process_time()
    t0 = time.perf_counter()
    try:
        thumbnail(request["path"])
        ms = (time.perf_counter() - t0) * 1000
        reply({"ms": ms, "cpuMs": (time.process_time() - c0) * 1000})
    except Exception as error:
        reply({"error": type(error).__name__ + ": " + str(error)})
