"""The load generator of `make load`: virtual users working the app over HTTP, as browsers do.

Run as its own process (`python -m apps.demo.load_client < spec.json`), so the server's
figures are not the client's: standard library only (threads, http.client), no Django. The
spec on stdin names the server, how long to run and the users (username, password, role,
whose boards an overseer opens); the result goes to stdout as JSON: every request's kind,
outcome and time, and each write the server confirmed (for `manage.py load` to check against
the database).

Each user logs in through /login/ (before the clock starts: a password hash costs a worker
a good part of a second), keeps its session and CSRF cookies, and loops with no think time:
the board (a rep's own; a manager's or an admin's filtered to one of the reps they oversee,
so they act on the same cards), the project list or the forecast, a project's page, a move of
a card to another stage with the version the board showed (as the board's drag does; a stage
that needs fields is answered with a form, which the user fills in and sends, as in the
board's dialog), and an edit of a card through the project's edit form.
"""

import http.client
import json
import random
import re
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from itertools import compress
from urllib.parse import urlencode, urlsplit

TIMEOUT = 120  # seconds: a queued request is slow, not lost; only a dead server times out
# The share of picks (a page to look at, a move, an edit) of the board's first card: the
# biggest deal of its earliest stage, the one a rep and their manager both turn to first.
HOT = 0.6
STAGE = re.compile(r'data-dropzone="stage" data-stage-id="(\d+)"')
CARD = re.compile(r'data-project-id="(\d+)" data-version="(\d+)"')
MESSAGE = re.compile(r'class="message message-(\w+)"[^>]*>(.*?)</li>', re.S)
ERROR_TEXT = re.compile(r'class="(?:form|field)-error"[^>]*>(.*?)</(?:p|small|div)>', re.S)
TAG = re.compile(r"<[^>]+>")
CONFLICT = "meanwhile"  # StaleProject's message: "... was changed by X meanwhile ..."
EXAMPLES = 5  # error and refusal samples kept per kind
LOGINS_AT_ONCE = 4


class Form(HTMLParser):
    """The fields of a page's first <form method="post"> whose attributes hold `marker` (the
    layout has a logout form too), with the values a browser would send: inputs, checked
    boxes and radios, textareas, selected options."""

    def __init__(self, html: str, marker: str):
        super().__init__(convert_charrefs=True)
        self.marker = marker
        self.fields: dict[str, str] = {}
        self.radios: dict[str, list[str]] = {}
        self._in_form = self._done = False
        self._textarea = self._select = None
        self._first_option = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self._done:
            return
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self._in_form = any(self.marker in (value or "") for value in attrs.values()) or (
                self.marker in attrs
            )
        if not self._in_form:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = (attrs.get("type") or "text").lower()
            if kind == "radio":
                self.radios.setdefault(name, []).append(attrs.get("value") or "")
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.fields[name] = attrs.get("value") or "on"
            elif kind not in ("submit", "button", "file", "image", "reset"):
                self.fields[name] = attrs.get("value") or ""
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields[name] = ""
        elif tag == "select" and name:
            self._select, self._first_option = name, None
        elif tag == "option" and self._select:
            value = attrs.get("value") or ""
            if self._first_option is None:
                self._first_option = value
            if "selected" in attrs:
                self.fields[self._select] = value

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea:
            # HTML drops the newline that follows <textarea> (Django writes one).
            value = self.fields[self._textarea]
            self.fields[self._textarea] = value[1:] if value.startswith("\n") else value
            self._textarea = None
        elif tag == "select" and self._select:
            # A select with nothing selected sends its first option.
            self.fields.setdefault(self._select, self._first_option or "")
            self._select = None
        elif tag == "form" and self._in_form:
            self._in_form, self._done = False, True


def text_of(html: str) -> str:
    return " ".join(TAG.sub(" ", html).split())


class User:
    """One virtual user: its cookies, and what it records."""

    def __init__(self, spec: dict, run: "Run"):
        self.spec = spec
        self.run = run
        self.rng = random.Random(f"{run.seed}:{spec['index']}")
        self.cookies: dict[str, str] = {}

    # HTTP ----------------------------------------------------------------------------------

    def request(self, kind, method, path, *, data=None, headers=None, expect=(200,)):
        """One request, timed and recorded under `kind`. Returns (status, headers, body), or
        None when the answer was an error (recorded as one)."""
        body = urlencode(data).encode() if data is not None else None
        sent = {
            "Host": self.run.host_header,
            "Accept": "text/html",
            "User-Agent": "pipeline-load/1",
            **(headers or {}),
        }
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        if body is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
            sent["Origin"] = self.run.origin  # as a browser sends with a POST
        started = time.perf_counter()
        connection = http.client.HTTPConnection(self.run.host, self.run.port, timeout=TIMEOUT)
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            content = response.read().decode("utf-8", "replace")
            status, answer = response.status, response.msg
        except (OSError, http.client.HTTPException) as error:
            self.run.record(kind, started, "error", f"{method} {path}: {error!r}")
            return None
        finally:
            connection.close()
        for header in answer.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        if status not in expect:
            detail = f"{method} {path} -> {status} {text_of(content)[:200]}"
            self.run.record(kind, started, "error", detail, status=status)
            return None
        return status, answer, content, started

    def get(self, kind, path) -> str | None:
        """A page, recorded as "ok" when it answers 200: its body, or None."""
        got = self.request(kind, "GET", path)
        if got is None:
            return None
        self.run.record(kind, got[3], "ok")
        return got[2]

    # The session ---------------------------------------------------------------------------

    def login(self) -> bool:
        got = self.request("login page", "GET", "/login/")
        if got is None:
            return False
        form = Form(got[2], "/login/").fields
        form.update(username=self.spec["username"], password=self.spec["password"])
        got = self.request("login", "POST", "/login/", data=form, expect=(302,))
        if got is None:
            return False
        self.run.record("login", got[3], "ok")
        return "sessionid" in self.cookies

    def loop(self, deadline: float) -> None:
        steps = [self.board, self.list_or_forecast, self.detail, self.move, self.edit]
        self.cards: list[tuple[int, int, int]] = []  # (project, version, stage)
        self.stages: list[int] = []
        self.board_path = ""
        while True:
            for step in steps:
                if time.perf_counter() >= deadline:
                    return
                step()

    # The loop's steps ------------------------------------------------------------------------

    def board(self):
        pipeline = self.rng.choice(self.run.pipelines)
        path = f"/pipeline/{pipeline}/board/"
        if self.spec["watches"]:  # an overseer: one rep's board, as a manager reviews it
            path += f"?owner={self.rng.choice(self.spec['watches'])}"
        content = self.get("board", path)
        if content is None:
            self.cards = []
            return
        self.board_path = path
        self.cards, self.stages, stage = [], [], None
        for match in re.finditer(f"{STAGE.pattern}|{CARD.pattern}", content):
            if match.group(1):
                stage = int(match.group(1))
                self.stages.append(stage)
            else:
                self.cards.append((int(match.group(2)), int(match.group(3)), stage))

    def pick_card(self):
        if not self.cards:
            return None
        if self.rng.random() < HOT:
            return self.cards[0]  # the biggest deal of the earliest stage that has any
        return self.rng.choice(self.cards)

    def list_or_forecast(self):
        if self.rng.random() < 0.5:
            kind, path = "list", self.rng.choice(["/projects/", "/projects/?o=-value&status=open"])
        else:
            kind, path = "forecast", self.rng.choice(["/forecast/", "/forecast/?group=stage"])
        self.get(kind, path)

    def detail(self):
        card = self.pick_card()
        if card is None:
            return
        self.get("detail", f"/projects/{card[0]}/")

    def move(self):
        card = self.pick_card()
        if card is None or len(self.stages) < 2:
            return
        project, version, stage = card
        to_stage = self.rng.choice([other for other in self.stages if other != stage])
        path = f"/pipeline/projects/{project}/move/"
        headers = {
            "HX-Request": "true",
            "HX-Current-URL": self.run.origin + self.board_path,
            "X-CSRFToken": self.cookies.get("csrftoken", ""),
        }
        data = {"to_stage": to_stage, "version": version, "note": ""}
        got = self.request("move", "POST", path, data=data, headers=headers)
        if got is None:
            return
        status, answer, content, started = got
        if answer.get("HX-Retarget"):
            # The stage needs fields the project lacks: the dialog asks for them; fill them
            # in and send the move again (the board's "Save and move").
            self.run.record("move", started, "needs fields")
            form = Form(content, "data-action-form")
            asked = {  # the form holds only the fields asked for, besides these
                name: self.answer(name)
                for name in form.fields
                if name not in ("csrfmiddlewaretoken", "version", "next", "to_stage", "note")
            }
            data = {**form.fields, **asked, "to_stage": to_stage}
            got = self.request("move", "POST", path, data=data, headers=headers)
            if got is None:
                return
            status, answer, content, started = got
            if answer.get("HX-Retarget"):
                self.run.record(
                    "move", started, "refused", "asked again: " + text_of(content)[:200]
                )
                return
        else:
            asked = {}
        messages = MESSAGE.findall(content)
        if any(tag == "success" for tag, _ in messages):
            self.run.record("move", started, "moved")
            self.run.confirm_move(project, to_stage, version, asked)
        elif any(CONFLICT in text for _, text in messages):
            self.run.record("move", started, "conflict")
        else:
            said = "; ".join(text_of(text) for _, text in messages) or text_of(content)[:200]
            self.run.record("move", started, "refused", said)

    def answer(self, name: str) -> str:
        """What a user types into a field a stage asks for."""
        if name == "value":
            return str(self.rng.randrange(1_000, 100_000))
        if name in ("expected_close_date", "next_step_date"):
            return (date.today() + timedelta(days=self.rng.randrange(30, 300))).isoformat()
        return f"Filled in under load by {self.spec['username']}"

    def edit(self):
        card = self.pick_card()
        if card is None:
            return
        path = f"/projects/{card[0]}/edit/"
        content = self.get("edit form", path)
        if content is None:
            return
        fields = Form(content, "project-form").fields
        if self.rng.random() < 0.5:
            # Never the same value: every value edit begins one ledger period.
            what = "value"
            old = float(fields.get("value") or 0)
            fields["value"] = f"{old + self.rng.randrange(1, 50) * 100:.2f}"
        else:
            what = "next_step"
            fields["next_step"] = f"Call back ({self.spec['username']}, {time.time():.3f})"
        got = self.request("edit", "POST", path, data=fields, expect=(200, 302))
        if got is None:
            return
        status, answer, content, started = got
        if status == 302:
            self.run.record("edit", started, "saved")
            self.run.confirm_edit(card[0], int(fields.get("version") or -1), what, fields)
        elif CONFLICT in content:
            self.run.record("edit", started, "conflict")
        else:
            errors = "; ".join(text_of(error) for error in ERROR_TEXT.findall(content))
            self.run.record("edit", started, "refused", errors or text_of(content)[:200])


class Run:
    """What all users share: the server's address and the records, under one lock."""

    def __init__(self, spec: dict):
        parts = urlsplit(spec["base_url"])
        self.host, self.port = parts.hostname, parts.port or 80
        self.host_header = parts.netloc
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.pipelines = spec["pipelines"]
        self.seed = spec.get("seed", 1)
        self.lock = threading.Lock()
        self.timings: list[tuple[str, str, float, float]] = []  # kind, outcome, start, ms
        self.samples: dict[str, list[str]] = {}
        self.statuses: Counter[str] = Counter()
        self.moves: list[dict] = []
        self.edits: list[dict] = []

    def record(self, kind, started, outcome, detail="", status=None):
        ended = time.perf_counter()
        with self.lock:
            self.timings.append((kind, outcome, started, (ended - started) * 1000))
            if detail:
                kept = self.samples.setdefault(f"{kind}: {outcome}", [])
                if len(kept) < EXAMPLES:
                    kept.append(detail)
            if status is not None:
                self.statuses[str(status)] += 1

    def confirm_move(self, project, to_stage, seen_version, fields):
        with self.lock:
            self.moves.append(
                {"project": project, "to_stage": to_stage, "version": seen_version, **fields}
            )

    def confirm_edit(self, project, seen_version, what, fields):
        """An edit the server saved: what it changed, and the value and next step it sent
        (an edit sends every field, so it sets those it did not change to what it read)."""
        with self.lock:
            self.edits.append(
                {
                    "project": project,
                    "version": seen_version,
                    "changed": what,
                    "value": fields.get("value", ""),
                    "next_step": fields.get("next_step", ""),
                }
            )


def main() -> None:
    spec = json.load(sys.stdin)
    run = Run(spec)
    users = [User(user, run) for user in spec["users"]]

    # Log in first, a few at a time (each costs a worker a password hash).
    started = time.perf_counter()
    with ThreadPoolExecutor(LOGINS_AT_ONCE) as pool:
        logged_in = list(compress(users, pool.map(User.login, users)))
    login_seconds = time.perf_counter() - started
    logins = [t for t in run.timings if t[0].startswith("login")]
    run.timings = []  # the figures are those of the loop

    started = time.perf_counter()
    deadline = started + spec["seconds"]
    threads = [threading.Thread(target=user.loop, args=(deadline,)) for user in logged_in]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    json.dump(
        {
            "users": len(users),
            "logged_in": len(logged_in),
            "login_seconds": round(login_seconds, 1),
            "login_errors": sum(1 for t in logins if t[1] == "error"),
            "seconds": elapsed,
            "requests": [[kind, outcome, round(ms, 2)] for kind, outcome, _, ms in run.timings],
            "samples": run.samples,
            "statuses": run.statuses,
            "moves": run.moves,
            "edits": run.edits,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
