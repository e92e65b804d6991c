"""Drives the emulator with wechatpy, a widely used WeChat SDK, unchanged but for its base URL.

wechatpy hard-codes https://api.weixin.qq.com for the token call, so its requests session gets an
adapter that sends that host to the emulator: the SDK's own code runs as shipped.
Usage: python3 wechatpy_check.py BASE_URL APPID SECRET SAMPLES_DIR [seed|current]
"""
import os
import sys

import requests
from requests.adapters import HTTPAdapter
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

base, appid, secret, samples = sys.argv[1:5]
limits = sys.argv[5] if len(sys.argv) > 5 else "seed"


class EmulatorAdapter(HTTPAdapter):
    """Sends requests for the real API hosts to the emulator's base URL."""

    def send(self, request, **kwargs):
        for host in ("https://api.weixin.qq.com", "https://file.api.weixin.qq.com",
                     "http://file.api.weixin.qq.com"):
            if request.url.startswith(host):
                request.url = base + request.url[len(host):]
        return super().send(request, **kwargs)


client = WeChatClient(appid, secret)
client._http.mount("https://", EmulatorAdapter())
client._http.mount("http://", EmulatorAdapter())

failures = 0
passed = 0


def check(name, condition, detail=""):
    global failures
    print(("ok   " if condition else "FAIL ") + name + (": " + detail if detail and not condition else ""))
    if not condition:
        failures += 1


token = client.fetch_access_token()
check("token fetched", len(token.get("access_token", "")) > 0 and token.get("expires_in") == 7200, str(token))

uploads = [("image", "cat.jpg"), ("thumb", "thumb.jpg"), ("voice", "hello.mp3"), ("voice", "hello.amr"),
           ("video", "clip.mp4")]
for media_type, name in uploads:
    path = os.path.join(samples, name)
    with open(path, "rb") as f:
        result = client.media.upload(media_type, f)
    key = "thumb_media_id" if media_type == "thumb" else "media_id"
    media_id = result.get(key, "")
    check("upload %s %s" % (media_type, name), len(media_id) == 64 and result.get("type") == media_type, str(result))
    if media_type == "video" and limits == "seed":
        try:
            client.media.download(media_id)
            check("video download refused under the seed limits", False, "download succeeded")
        except WeChatClientException as e:
            check("video download refused under the seed limits", e.errcode == 40004, str(e))
        continue
    if media_type == "video":
        answer = client.media.download(media_id)
        url = answer.get("video_url", "") if isinstance(answer, dict) else ""
        with open(path, "rb") as f:
            expected = f.read()
        got = requests.get(url, timeout=30).content if url else b""
        check("video_url of %s serves it byte-identical" % name, got == expected, str(answer))
        continue
    response = client.media.download(media_id)
    with open(path, "rb") as f:
        expected = f.read()
    got = getattr(response, "content", None)
    check("download %s byte-identical" % name, got == expected,
          "got %r" % (got[:80] if isinstance(got, bytes) else response))

if limits == "seed":
    try:
        client.media.upload("image", open(os.path.join(samples, "cat.png"), "rb"))
        check("png refused as image under the seed limits", False, "upload succeeded")
    except WeChatClientException as e:
        check("png refused as image under the seed limits", e.errcode == 40005, str(e))
else:
    result = client.media.upload("image", open(os.path.join(samples, "cat.png"), "rb"))
    check("png accepted as image under the current limits", len(result.get("media_id", "")) == 64, str(result))

try:
    client.media.download("x" * 64)
    check("unknown id is 40007", False, "download succeeded")
except WeChatClientException as e:
    check("unknown id is 40007", e.errcode == 40007, str(e))

# The permanent material library, through wechatpy's client.material, as shipped.
def read_sample(name):
    with open(os.path.join(samples, name), "rb") as f:
        return f.read()


material_ids = {}
for media_type, name in [("image", "cat.jpg"), ("voice", "hello.mp3"), ("thumb", "thumb.jpg")]:
    with open(os.path.join(samples, name), "rb") as f:
        result = client.material.add(media_type, f)
    material_ids[media_type] = result.get("media_id", "")
    check("material.add %s" % media_type, len(material_ids[media_type]) == 64, str(result))
    check("material.add %s has a url only for images" % media_type,
          ("url" in result) == (media_type == "image"), str(result))
with open(os.path.join(samples, "clip.mp4"), "rb") as f:
    result = client.material.add("video", f, title="\u732b video", introduction="an introduction")
material_ids["video"] = result.get("media_id", "")
check("material.add video with title and introduction", len(material_ids["video"]) == 64, str(result))

for media_type, name in [("image", "cat.jpg"), ("voice", "hello.mp3"), ("thumb", "thumb.jpg")]:
    response = client.material.get(material_ids[media_type])
    got = getattr(response, "content", None)
    check("material.get %s byte-identical" % media_type, got == read_sample(name),
          "got %r" % (got[:80] if isinstance(got, bytes) else response))
answer = client.material.get(material_ids["video"])
check("material.get video answers title and description",
      isinstance(answer, dict) and answer.get("title") == "\u732b video"
      and answer.get("description") == "an introduction", str(answer))
down_url = answer.get("down_url", "") if isinstance(answer, dict) else ""
check("material video down_url serves the MP4",
      bool(down_url) and requests.get(down_url, timeout=30).content == read_sample("clip.mp4"), str(answer))

listing = client.material.batchget("image", 0, 20)
items = listing.get("item", [])
check("material.batchget image lists the image",
      listing.get("total_count") == 1 and listing.get("item_count") == 1
      and items[0].get("media_id") == material_ids["image"] and items[0].get("name") == "cat.jpg", str(listing))
counts = client.material.get_count()
check("material.get_count", counts.get("image_count") == 1 and counts.get("voice_count") == 1
      and counts.get("video_count") == 1, str(counts))

result = client.material.delete(material_ids["voice"])
check("material.delete", result.get("errcode") == 0, str(result))
try:
    client.material.get(material_ids["voice"])
    check("a deleted material is 40007", False, "get succeeded")
except WeChatClientException as e:
    check("a deleted material is 40007", e.errcode == 40007, str(e))

print("wechatpy (%s limits): %d check(s) failed" % (limits, failures))
sys.exit(1 if failures else 0)
