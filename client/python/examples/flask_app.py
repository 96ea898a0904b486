"""A minimal Flask web layer over Coffer: the restart story Specter Desktop needs.

The user logs in once (``users.unlock``); the Coffer session token lives in Flask's signed session
cookie. Restart this app as often as you like: the cookie still carries the token and cofferd still
holds the unlocked secret, so the encrypted data stays readable without logging in again. When
cofferd itself restarts, every session ends: the next page sends the user to the login form with a
message (never a 500). When cofferd is down, the page says so (503), not a traceback.

Run (Debian: ``apt-get install python3-flask``)::

    export FLASK_SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
    export COFFER_SOCKET=$PWD/.coffer/cofferd.sock
    python3 client/python/examples/flask_app.py --port 5000

``FLASK_SECRET_KEY`` is required and must stay the same across restarts: it signs the cookie that
carries the session. The app refuses to start without one rather than generating one, because a
generated key would silently log every user out at each restart, the very thing Coffer prevents.
Set ``COFFER_FLASK_SECURE_COOKIE=1`` when served over HTTPS.

Note: Flask's session cookie is signed, not encrypted. The Coffer token in it is a bearer credential
for the browser that holds it (HttpOnly, SameSite=Lax), as any session cookie is.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import secrets
import sys
from typing import Any, Callable, List, Optional

from flask import Flask, flash, redirect, render_template_string, request, session, url_for
from werkzeug.serving import make_server

try:
    import coffer_client as cc
except ImportError:  # run from a checkout without `pip install ./client/python`
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import coffer_client as cc

MIN_SECRET_KEY_CHARS = 32

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Coffer example</title></head><body>
{% with messages = get_flashed_messages() %}{% for m in messages %}<p class="flash">{{ m }}</p>{% endfor %}{% endwith %}
{% if error %}<h1>{{ error.title }}</h1><p class="error">{{ error.text }}</p><p><a href="{{ url_for('index') }}">Try again</a></p>
{% elif page == 'login' %}
<h1>Log in</h1>
<form method="post" action="{{ url_for('login') }}">
  <input type="hidden" name="csrf" value="{{ csrf }}">
  <label>Username <input name="username" value="{{ username or '' }}"></label>
  <label>Password <input name="password" type="password"></label>
  <button>Log in</button>
</form>
{% else %}
<p>Logged in as <b>{{ username }}</b>.
<form method="post" action="{{ url_for('logout') }}" style="display:inline">
  <input type="hidden" name="csrf" value="{{ csrf }}"><button>Log out</button></form></p>
<h1>Service <code>{{ service }}</code> (encrypted)</h1>
<pre id="data">{{ data_json }}</pre>
<h2>Set one key</h2>
<form method="post" action="{{ url_for('update', service=service) }}">
  <input type="hidden" name="csrf" value="{{ csrf }}">
  <label>Key <input name="key"></label> <label>Value (JSON, or text) <input name="value"></label>
  <button>Set</button>
</form>
<h2>Replace all</h2>
<form method="post" action="{{ url_for('replace', service=service) }}">
  <input type="hidden" name="csrf" value="{{ csrf }}">
  <input type="hidden" name="revision" value="{{ revision or '' }}">
  <textarea name="data" rows="8" cols="60">{{ data_json }}</textarea>
  <button>Save</button>
</form>
{% endif %}
</body></html>"""


def create_app(client: Optional[cc.CofferClient] = None, secret_key: Optional[str] = None) -> Flask:
    """The app. ``client`` defaults to one on ``$COFFER_SOCKET`` that waits at most 2 s for a
    restarting daemon before the page reports it down; ``secret_key`` to ``$FLASK_SECRET_KEY``."""
    key = secret_key or os.environ.get("FLASK_SECRET_KEY", "")
    if len(key) < MIN_SECRET_KEY_CHARS:
        raise SystemExit(
            f"FLASK_SECRET_KEY must be set to a stable random value of at least {MIN_SECRET_KEY_CHARS} characters "
            "(it signs the login cookie; keep it the same across restarts). Make one with:\n"
            "  export FLASK_SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')")
    app = Flask(__name__)
    app.config.update(SECRET_KEY=key, SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=os.environ.get("COFFER_FLASK_SECURE_COOKIE") == "1")
    # One client for every request thread: it keeps a small pool of connections (thread-safe).
    coffer = client or cc.CofferClient(timeout=10, connect_timeout=2)

    def render(status: int = 200, **context: Any) -> Any:
        session.setdefault("csrf", secrets.token_urlsafe(32))
        context.setdefault("error", None)
        return render_template_string(PAGE, csrf=session["csrf"], **context), status

    def error_page(status: int, title: str, text: str) -> Any:
        return render(status, error={"title": title, "text": text})

    def logged_in(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if "coffer_session" not in session:
                flash("Please log in.")
                return redirect(url_for("login"))
            return view(*args, **kwargs)
        return wrapper

    @app.before_request
    def check_csrf() -> Any:
        if request.method == "POST":
            sent, expected = request.form.get("csrf", ""), session.get("csrf", "")
            if not expected or not secrets.compare_digest(sent, expected):
                return error_page(400, "Form expired", "The form was stale or not ours; reload the page and retry.")
        return None

    @app.get("/")
    def index() -> Any:
        return redirect(url_for("show", service="notes") if "coffer_session" in session else url_for("login"))

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        if request.method == "GET":
            return render(page="login")
        username = request.form.get("username", "")
        try:
            unlocked = coffer.unlock(username, request.form.get("password", ""))
        except (cc.BadPasswordError, cc.NotFoundError, cc.InvalidParamsError):
            flash("Wrong username or password.")  # the same text: do not reveal which usernames exist
            return render(401, page="login", username=username)
        except cc.RateLimitedError as e:
            flash(f"Too many failed attempts; try again in {e.retry_after_s or 1:.0f} s.")
            return render(429, page="login", username=username)
        except cc.PasswordRequiredError:
            flash("This user has no password, so has no encrypted data; set one with `coffer users passwd`.")
            return render(403, page="login", username=username)
        session.clear()  # a fresh cookie (and CSRF token) at login
        session["coffer_session"], session["username"] = unlocked["session"], unlocked["username"]
        return redirect(url_for("show", service="notes"))

    @app.post("/logout")
    def logout() -> Any:
        token = session.get("coffer_session")
        session.clear()
        if token:
            try:
                coffer.end_session(token)
            except cc.LockedError:
                pass  # already over (daemon restarted): logged out all the same
        flash("Logged out.")
        return redirect(url_for("login"))

    @app.get("/services/<service>")
    @logged_in
    def show(service: str) -> Any:
        value = coffer.get_service(service, session=session["coffer_session"])
        return render(page="service", service=service, username=session["username"], revision=value["revision"],
                      data_json=json.dumps(value["data"], indent=2, ensure_ascii=False))

    @app.post("/services/<service>/update")
    @logged_in
    def update(service: str) -> Any:
        key, raw = request.form.get("key", "").strip(), request.form.get("value", "")
        if not key:
            flash("Give a key to set.")
            return redirect(url_for("show", service=service))
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw  # plain text
        coffer.update_service_data(service, {key: value}, session=session["coffer_session"])
        flash(f"Saved {key}.")
        return redirect(url_for("show", service=service))

    @app.post("/services/<service>/replace")
    @logged_in
    def replace(service: str) -> Any:
        try:
            data = json.loads(request.form.get("data", ""))
        except ValueError:
            data = None
        if not isinstance(data, dict):
            flash("The data must be a JSON object.")
            return redirect(url_for("show", service=service))
        try:
            # Compare-and-set against the revision the form was made from: a concurrent edit is not lost.
            coffer.set_service_data(service, data, session=session["coffer_session"],
                                    if_revision=request.form.get("revision") or None)
            flash("Saved.")
        except cc.ConflictError:
            flash("It changed meanwhile (another tab or client); here is the current data, edit again.")
        return redirect(url_for("show", service=service))

    @app.errorhandler(cc.LockedError)
    def locked(_: cc.LockedError) -> Any:
        # The daemon restarted, the user was locked, or the session expired: log in again.
        session.clear()
        flash("Your Coffer session has ended (the daemon restarted, or it expired). Please log in again.")
        return redirect(url_for("login"))

    @app.errorhandler(cc.UnavailableError)
    @app.errorhandler(cc.ConnectionLostError)
    @app.errorhandler(cc.CofferTimeoutError)
    def unreachable(e: cc.CofferError) -> Any:
        return error_page(503, "Coffer is unavailable",
                          f"The Coffer daemon did not answer ({e.reason}); it may be restarting. "
                          "Retry in a moment; if it persists, check that cofferd runs.")

    @app.errorhandler(cc.InvalidParamsError)
    def invalid(e: cc.CofferError) -> Any:
        return error_page(400, "Not a valid request", e.message)

    @app.errorhandler(cc.CofferError)
    def other(e: cc.CofferError) -> Any:
        return error_page(502, "Coffer refused", f"{e.reason}: {e.message}")

    return app


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000, help="0: any free port")
    args = parser.parse_args(argv)
    server = make_server(args.host, args.port, create_app(), threaded=True)
    print(f"listening on http://{args.host}:{server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
