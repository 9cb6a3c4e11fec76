"""Real browser: ``streamlit run`` on a free port, headless Chromium visits every page from the sidebar."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "tests" / "e2e" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
PAGES = [
    ("Projects", "Projects"),
    ("Planning", "Planning"),
    ("Import data", "Import data"),
    ("Dataset versions", "Dataset versions"),
    ("Understand the data", "Understand the data"),
    ("Review labels", "Review labels"),
    ("Train models", "Train models"),
    ("Experiments", "Experiments"),
    ("Model registry", "Model registry"),
    ("Prepare the data", "Prepare the data"),
    ("Interpret models", "Interpret models"),
    ("Compare models", "Compare models"),
    ("Test and decide", "Test and decide"),
    ("Deploy predictions", "Deploy predictions"),
    ("Predictions", "Predictions"),
    ("Drift", "Drift"),
    ("Delayed labels", "Delayed labels"),
    ("Alerts & resources", "Alerts & resources"),
    ("Retraining", "Retraining"),
    ("Audit trail", "Audit trail"),
    ("Users and members", "Users and members"),
]

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: the test command installs it (python3.11 manage.py test)")
    home = tmp_path_factory.mktemp("e2e-home")
    env = dict(os.environ, MLCORE_HOME=str(home), MLCORE_USER="e2e")
    env.pop("MLCORE_DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "-m", "mlcore", "demo", "--rows", "2000"], env=env, check=True, cwd=ROOT, capture_output=True
    )
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("streamlit did not become healthy: " + proc.stdout.read().decode(errors="replace")[-2000:])
    creds = dict(
        (line.split("\t")[0], line.split("\t")[2]) for line in (home / "demo-credentials.txt").read_text().splitlines()
    )
    yield url, creds
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    url, creds = server
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        pg = browser.new_page(viewport={"width": 1400, "height": 1800})
        pg.set_default_timeout(30_000)
        # First request of a fresh server is a deep link: sign in, then land on that page with the router.
        pg.goto(f"{url}/data_versions")
        pg.locator("h1").filter(has_text="Sign in").wait_for()
        pg.get_by_label("User name").fill("demo-admin")
        pg.get_by_role("textbox", name="Password").fill(creds["demo-admin"])
        pg.get_by_role("button", name="Sign in").click()
        pg.locator("h1").filter(has_text="Dataset versions").wait_for()
        pg.wait_for_selector('[data-testid="stSidebarNav"]')
        pg.get_by_text("Language").first.wait_for()
        assert pg.get_by_text("Page not found").count() == 0
        yield pg
        browser.close()


def _settle(pg) -> None:
    pg.wait_for_load_state("networkidle")
    pg.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.trim() === ''",
    )
    pg.wait_for_timeout(500)


@pytest.mark.parametrize("link,title", PAGES)
def test_every_page_from_the_sidebar(page, link, title):
    page.locator('[data-testid="stSidebarNav"]').get_by_text(link, exact=True).click()
    page.locator("h1").filter(has_text=title).wait_for()
    _settle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_text("Page not found").count() == 0
    charts = page.locator('[data-testid="stPlotlyChart"]')
    for i in range(charts.count()):
        charts.nth(i).locator(".main-svg").first.wait_for()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{link.lower().replace(' ', '_')}.png"), full_page=True)


def test_upload_a_csv_in_the_browser(page, tmp_path):
    csv = tmp_path / "ventas.csv"
    csv.write_text(
        "id,region,monto,compra\n" + "".join(f"{i},R{i % 4},{i * 1.5},{i % 2}\n" for i in range(50)), encoding="utf-8"
    )
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Import data", exact=True).click()
    page.locator("h1").filter(has_text="Import data").wait_for()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(csv))
    page.get_by_role("button", name="Save as a new version").click()
    page.get_by_text("ventas v1").first.wait_for(timeout=60_000)
    _settle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(SHOTS / "import_done.png"), full_page=True)
