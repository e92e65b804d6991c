"""Drives the emulator with wechatpy, a widely used WeChat SDK, unchanged but for its base URL.

wechatpy hard-codes https://api.weixin.qq.com for the token call, so its requests session gets an
adapter that sends that host to the emulator: the SDK's own code runs as shipped.
Usage: python3 wechatpy_check.py BASE_URL APPID SECRET SAMPLES_DIR [seed|current]
"""
import os
import sys
import time

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

# The draft box and publishing, through wechatpy's client.draft and client.freepublish, as shipped.
# wechatpy 1.8.18 (the last 1.x release) has neither; the 2.0 pre-releases on PyPI have both, so
# sdk-check.sh runs this script with each. The emulator runs with --publish-seconds 1.
if not hasattr(client, "draft") or not hasattr(client, "freepublish"):
    print("skip draft and freepublish: this wechatpy has no client.draft / client.freepublish")
else:
    with open(os.path.join(samples, "thumb.jpg"), "rb") as f:
        cover = client.material.add("thumb", f).get("media_id", "")
    with open(os.path.join(samples, "cat.jpg"), "rb") as f:
        body_image = client.media.upload_image(f) if hasattr(client.media, "upload_image") else ""
    content = "<p>\u732b</p><img src=\"%s\"><img src=\"http://example.com/x.jpg\">" % body_image
    articles = [{"title": "\u7b2c\u4e00\u7bc7", "content": content, "thumb_media_id": cover, "author": "sdk"},
                {"title": "Second", "content": "<p>2</p>", "thumb_media_id": cover}]
    added = client.draft.add(articles)
    draft_id = added.get("media_id", "")
    check("draft.add", len(draft_id) == 64, str(added))
    got = client.draft.get(draft_id)
    items = got.get("news_item", [])
    check("draft.get answers the articles with urls",
          [i.get("title") for i in items] == ["\u7b2c\u4e00\u7bc7", "Second"]
          and all(i.get("url", "").startswith("http://") for i in items), str(got))
    check("draft.get: the foreign body image is stripped, the own one kept",
          bool(items) and "example.com" not in items[0].get("content", "")
          and (not body_image or body_image in items[0].get("content", "")), str(items[:1]))
    updated = client.draft.update(draft_id, 1, {"title": "Second, changed", "content": "<p>2</p>",
                                                "thumb_media_id": cover})
    check("draft.update", updated.get("errcode") == 0, str(updated))
    titles = [i.get("title") for i in client.draft.get(draft_id).get("news_item", [])]
    check("draft.update changed the article at its index", titles == ["\u7b2c\u4e00\u7bc7", "Second, changed"],
          str(titles))
    count = client.draft.count()
    check("draft.count", count.get("total_count") == 1, str(count))
    listing = client.draft.batchget(0, 20, 1)
    listed = listing.get("item", [])
    check("draft.batchget without content",
          listing.get("total_count") == 1 and listing.get("item_count") == 1 and listed[0].get("media_id") == draft_id
          and all("content" not in a for a in listed[0].get("content", {}).get("news_item", [])), str(listing))
    try:
        client.draft.add([{"title": "t" * 33, "content": "c", "thumb_media_id": cover}])
        check("draft.add of a 33-character title is 45003", False, "add succeeded")
    except WeChatClientException as e:
        check("draft.add of a 33-character title is 45003", e.errcode == 45003, str(e))

    submitted = client.freepublish.submit(draft_id)
    publish_id = submitted.get("publish_id", "")
    check("freepublish.submit", bool(publish_id) and "msg_data_id" in submitted, str(submitted))
    status = client.freepublish.get(publish_id)
    check("freepublish.get while publishing", status.get("publish_status") == 1, str(status))
    time.sleep(1.5)
    status = client.freepublish.get(publish_id)
    detail = status.get("article_detail", {})
    check("freepublish.get once published",
          status.get("publish_status") == 0 and bool(status.get("article_id"))
          and detail.get("count") == 2 and [i.get("idx") for i in detail.get("item", [])] == [1, 2], str(status))
    urls = [i.get("article_url", "") for i in detail.get("item", [])]
    check("the article_url serves the article as HTML",
          bool(urls) and "Second, changed" in requests.get(urls[1], timeout=30).text, str(urls))
    check("a published draft leaves the box", client.draft.count().get("total_count") == 0)
    article_id = status.get("article_id", "")
    published = client.freepublish.batchget(0, 20, 0)
    check("freepublish.batchget", published.get("total_count") == 1
          and published.get("item", [{}])[0].get("article_id") == article_id, str(published))
    article = client.freepublish.getarticle(article_id)
    check("freepublish.getarticle", len(article.get("news_item", [])) == 2, str(article))
    deleted = client.freepublish.delete(article_id, 0)
    check("freepublish.delete", deleted.get("errcode") == 0, str(deleted))
    try:
        client.freepublish.getarticle(article_id)
        check("a deleted article is 40007", False, "getarticle succeeded")
    except WeChatClientException as e:
        check("a deleted article is 40007", e.errcode == 40007, str(e))
    other = client.draft.add(articles[1:]).get("media_id", "")
    check("draft.delete", client.draft.delete(other).get("errcode") == 0)
    try:
        client.draft.get(other)
        check("a deleted draft is 40007", False, "get succeeded")
    except WeChatClientException as e:
        check("a deleted draft is 40007", e.errcode == 40007, str(e))

print("wechatpy (%s limits): %d check(s) failed" % (limits, failures))
sys.exit(1 if failures else 0)
