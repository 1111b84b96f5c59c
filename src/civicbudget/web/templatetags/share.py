"""Share metadata: Open Graph, schema.org (read by WeChat and QQ) and the page description.

``{% share_meta title description %}`` in a page's ``share`` block; the image is the site's
static 600x600 share picture (WeChat wants at least 300x300), the URL the page's own
address without its query (a shared ``?src=`` would credit the wrong outreach point).
"""

from django import template
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.text import Truncator

register = template.Library()

SHARE_IMAGE = "civicbudget/share.png"
SHARE_IMAGE_SIDE = 600


@register.simple_tag(takes_context=True)
def share_meta(context, title, description=""):
    request = context.get("request")
    description = Truncator(" ".join(str(description or "").split())).chars(120)
    image = static(SHARE_IMAGE)
    url = ""
    if request is not None:
        image = request.build_absolute_uri(image)
        url = request.build_absolute_uri(request.path)
    return format_html(
        '<meta name="description" content="{d}">\n'
        '<meta property="og:type" content="website">\n'
        '<meta property="og:title" content="{t}">\n'
        '<meta property="og:description" content="{d}">\n'
        '<meta property="og:image" content="{i}">\n'
        '<meta property="og:image:width" content="{s}">\n'
        '<meta property="og:image:height" content="{s}">\n'
        '<meta property="og:url" content="{u}">\n'
        '<meta itemprop="name" content="{t}">\n'
        '<meta itemprop="description" content="{d}">\n'
        '<meta itemprop="image" content="{i}">',
        t=str(title), d=description, i=image, u=url, s=SHARE_IMAGE_SIDE)
