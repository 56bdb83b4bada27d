"""60 injection payloads in every free-text field the site shows, in headless Chromium.

Payloads go where the schema allows free text: licenses, submitters, failure
messages and log tails, history reasons, flag reasons and per-sample details
(prompt, choices, target, response). Every page type is visited; no dialog may
open, no payload may set ``window.__xss``, and no injected element may exist.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from shlepa.records.request import Failure, Status, new_request, save_request
from shlepa.records.results import write_results
from shlepa.records.suite import load_suite
from shlepa.site.build import build_site

from support.result_sets import make_repo, request_data, results_payload
from support.serving import ARGS, CHROMIUM, serve_in_thread

pytestmark = pytest.mark.browser
BASE = [
    "<script>window.__xss=1</script>",
    "<img src=x onerror=window.__xss=2>",
    '"><svg/onload=window.__xss=3>',
    "javascript:window.__xss=4",
    "</script><script>window.__xss=5</script>",
    "{{7*7}}",
    "${window.__xss=6}",
    "[x](javascript:window.__xss=7)",
    "![x](x onerror=window.__xss=8)",
    '<iframe srcdoc="<script>parent.__xss=9</script>">',
    "'><img src=x onerror=window.__xss=10>",
    "`><img src=x onerror=window.__xss=11>",
    "<body onload=window.__xss=12>",
    "<a href=javascript:window.__xss=13>x</a>",
    "\\u003cscript\\u003ewindow.__xss=14\\u003c/script\\u003e",
    "&lt;script&gt;window.__xss=15&lt;/script&gt;",
    "<svg><script>window.__xss=16</script></svg>",
    "<math><mtext><img src=x onerror=window.__xss=17>",
    "<details open ontoggle=window.__xss=18>",
    "<input autofocus onfocus=window.__xss=19>",
    "<video><source onerror=window.__xss=20>",
    "<object data=javascript:window.__xss=21>",
    "<embed src=javascript:window.__xss=22>",
    "<style>@import 'javascript:window.__xss=23'</style>",
    "<meta http-equiv=refresh content='0;url=javascript:window.__xss=24'>",
    "<base href=javascript:window.__xss=25//>",
    "<form action=javascript:window.__xss=26><button>x</button></form>",
    '" onmouseover="window.__xss=27',
    "' onmouseover='window.__xss=28",
    "<!--<img src=x onerror=window.__xss=29>-->",
    "<![CDATA[<img src=x onerror=window.__xss=30>]]>",
    "<scr<script>ipt>window.__xss=31</scr</script>ipt>",
    "<IMG SRC=x OnErRoR=window.__xss=32>",
    "<img src=x onerror=&#119;indow.__xss=33>",
    "<svg><animate onbegin=window.__xss=34 attributeName=x dur=1s>",
    "<marquee onstart=window.__xss=35>",
    "<template><img src=x onerror=window.__xss=36></template>",
    '<noscript><p title="</noscript><img src=x onerror=window.__xss=37>">',
    "*{{constructor.constructor('window.__xss=38')()}}*",
    "<% window.__xss=39 %>",
    "#{window.__xss=40}",
    '<div style="background:url(javascript:window.__xss=41)">',
    "data:text/html,<script>window.__xss=42</script>",
    "\u202e<img src=x onerror=window.__xss=43>",
    "<img src=x onerror=window.__xss=44//",
    "<svg onload=window.__xss=45 ",
    "</textarea><img src=x onerror=window.__xss=46>",
    "</title><img src=x onerror=window.__xss=47>",
    "</style><img src=x onerror=window.__xss=48>",
    '<img src="x\\" onerror=window.__xss=49>',
    '<a href="&#106;avascript:window.__xss=50">x</a>',
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(2)>",
    "<svg onload=confirm(3)>",
    "<img src=x onerror=prompt(4)>",
    "<x onclick=window.__xss=51>click</x>",
    "<select autofocus onfocus=window.__xss=52>",
    "<textarea autofocus onfocus=window.__xss=53>",
    "<keygen autofocus onfocus=window.__xss=54>",
    "<audio src=x onerror=window.__xss=55>",
]
assert len(BASE) >= 50


def hostile_repo(root):
    root = make_repo(root, 4, details_every=0, missing_every=0, queue=0)
    suite = load_suite("open_llm_v1", root)
    rng = random.Random(3)
    t = datetime(2024, 6, 1, tzinfo=UTC)
    for i, payload in enumerate(BASE[:12]):  # licenses (max 100 chars) on evaluated models
        req = request_data(
            f"xss-org/model-{i}", f"{i + 1:040x}", "float16", "fine-tuned", payload[:100], 7.0, t, suite.name
        )
        req["base_model"] = None
        details = (
            [
                {
                    "benchmark": "arc",
                    "task": "arc_challenge",
                    "doc_id": k,
                    "prompt": p,
                    "choices": [p, "b"],
                    "target": p,
                    "response": [p],
                    "filter": "none",
                    "metrics": {"acc_norm": 1.0},
                    "doc": {"q": p},
                }
                for k, p in enumerate(BASE)
            ]
            if i == 0
            else []
        )
        write_results(
            root,
            results_payload(req, suite, "LlamaForCausalLM", rng, t + timedelta(hours=1), set()),
            details,
            t + timedelta(hours=1, minutes=i),
        )
    for i, payload in enumerate(BASE):  # failed and pending requests on the queue page
        req = new_request(f"queue-org/q-{i}", f"{i + 100:040x}", "float16", "chat", "mit", payload[:200])
        if i % 2:
            req = req.with_status(Status.running, payload, runner=payload[:200])
            req = req.with_status(Status.failed, payload)
            req = req.model_copy(
                update={
                    "failure": Failure(
                        error_class=payload[:200], message=payload, log_tail="\n".join(BASE), log_url=None
                    )
                }
            )
        save_request(req, root)
    (root / "flags.yaml").write_text(
        yaml.safe_dump(
            [{"model": "xss-org/model-0", "reason": " ".join(BASE)[:1900], "url": "https://example.org/d/1"}]
        )
    )
    return root


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory):
    root = hostile_repo(tmp_path_factory.mktemp("xss"))
    out = root / "_site"
    build_site(root, out)
    server, url = serve_in_thread(out)
    yield url, out
    server.shutdown()


def test_no_payload_runs_on_any_page(hostile_site, capsys):
    from playwright.sync_api import sync_playwright

    url, out = hostile_site
    model_page = next(out.glob("models/xss-org/model-0/*/index.html")).parent.relative_to(out)
    pages = {
        "leaderboard": "",
        "model + details": f"{model_page}/",
        "queue": "queue/",
        "about": "about/",
        "charts": "charts/",
    }
    dialogs: list[str] = []
    checked = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        for name, path in pages.items():
            page.goto(url + path)
            page.wait_for_load_state("networkidle")
            if name == "leaderboard":
                page.wait_for_selector("#lb-app[data-ready]")
                page.fill("#lb-search", "xss-org")
            if name.startswith("model"):
                page.wait_for_selector("#details-rows .details-row")
            page.mouse.move(300, 300)
            page.wait_for_timeout(300)
            assert page.evaluate("window.__xss") is None, name
            injected = page.locator(
                "iframe[srcdoc], img[src=x], svg[onload], x[onclick], details[ontoggle], "
                "input[onfocus], marquee, object[data], embed[src]"
            ).count()
            assert injected == 0, name
            checked[name] = sum(1 for pl in BASE if pl in page.inner_text("body"))
        browser.close()
    assert dialogs == []
    assert checked["queue"] >= len(BASE) // 2  # each FAILED request shows its message as text
    assert checked["model + details"] >= 1
    with capsys.disabled():
        print(
            f"\n[hardening] XSS: {len(BASE)} payloads on {len(pages)} page types; scripts run 0, dialogs 0, "
            f"injected elements 0; payloads shown as text per page: {checked}"
        )
