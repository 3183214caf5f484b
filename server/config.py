"""Configuration defaults; the app factory layers instance config and environment on top."""

from __future__ import annotations

# Every key here can be overridden by the instance folder's config.py, then by
# STEPBACK_<KEY> environment variables (Flask's from_prefixed_env), then by a test mapping.
DEFAULTS: dict[str, object] = {
    # SQLite in the instance folder unless DATABASE_URL (or STEPBACK_DATABASE_URL) says otherwise.
    "DATABASE_URL": None,
    # Comma-separated Fernet keys; the first encrypts, all decrypt (key rotation).
    # Left empty, a key is generated once and kept in the instance folder (mode 0600).
    "ENCRYPTION_KEYS": None,
    # Gmail API endpoint: None talks to Google; the emulator's URL in tests and the demo.
    "GMAIL_API_ENDPOINT": None,
    # OAuth client of the product (extension sign-in, offline access, admin sign-in).
    "GOOGLE_CLIENT_ID": "",
    "GOOGLE_CLIENT_SECRET": "",
    # Where Google's ID-token signing certificates and the token-info endpoint live;
    # tests point these at local stand-ins serving their own keys.
    "GOOGLE_CERTS_URL": "https://www.googleapis.com/oauth2/v1/certs",
    "GOOGLE_TOKENINFO_URL": "https://oauth2.googleapis.com/tokeninfo",
    "GOOGLE_AUTH_URL": "https://accounts.google.com/o/oauth2/v2/auth",
    "GOOGLE_TOKEN_URL": "https://oauth2.googleapis.com/token",
    # Public base URL of this service (add-on endpoint audiences, OAuth redirects).
    "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
    # The Workspace add-on's service account (email claim of Google's system ID token).
    "ADDON_SERVICE_ACCOUNT": "",
    # The add-on deployment's OAuth client ID (`gcloud workspace-add-ons get-authorization`):
    # the audience of the user ID token. Empty falls back to GOOGLE_CLIENT_ID.
    "ADDON_CLIENT_ID": "",
    # Pub/Sub push: expected OIDC audience and service account, and the topic for users.watch.
    "PUBSUB_AUDIENCE": "",
    "PUBSUB_SERVICE_ACCOUNT": "",
    "PUBSUB_TOPIC": "",
    # Cloud Scheduler calls carry an OIDC token for this service account.
    "SCHEDULER_SERVICE_ACCOUNT": "",
    # Expected audience of Scheduler tokens; empty means the endpoint's public URL.
    "SCHEDULER_AUDIENCE": "",
    # After a push is acknowledged its sync runs in a bounded in-process pool ("background"),
    # or inside the request ("inline": tests and single-shot local runs).
    "PUSH_SYNC_MODE": "background",
    "PUSH_SYNC_WORKERS": 4,
    "PUSH_SYNC_QUEUE": 200,
    # Scheduler jobs: renew watches ending within this many hours; poll mailboxes silent
    # for this long; threads and seconds one job run may use.
    "WATCH_RENEW_WITHIN_HOURS": 144,
    "POLL_QUIET_HOURS": 6,
    "TASK_WORKERS": 4,
    "TASK_BUDGET_SECONDS": 240,
    # Gmail retries (exponential backoff with jitter) for background syncs.
    # Eight tries whose waits add up to more than Google's one-minute quota window.
    "GMAIL_RETRY_ATTEMPTS": 8,
    "GMAIL_BACKOFF_BASE": 1.0,
    "GMAIL_BACKOFF_CAP": 64.0,
    # Gmail quota: the cost table ("may2026" for projects created since May 2026, "legacy"
    # before), the per-user budget a minute (None: the table's), and the project's limits
    # shared by every instance through the database.
    "GMAIL_QUOTA_TABLE": "may2026",
    "GMAIL_USER_UNITS_PER_MINUTE": None,
    "GMAIL_PROJECT_UNITS_PER_MINUTE": 1_200_000,
    "GMAIL_PROJECT_UNITS_PER_DAY": 80_000_000,
    # Local sign-in for the seeded demo users; off unless the demo turns it on.
    "DEMO_LOGIN": False,
    # Per-rep API rate limit (the `limits` library's syntax, e.g. "120 per minute") and its storage.
    "API_RATE_LIMIT": "120 per minute",
    "RATELIMIT_STORAGE_URI": "memory://",
    # How long a verified access token is trusted before asking Google again (seconds).
    "TOKEN_CACHE_SECONDS": 300,
    # Session cookies: Secure unless explicitly turned off for plain-http local runs.
    "SESSION_COOKIE_SECURE": True,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "JSON_SORT_KEYS": False,
    # How many proxies in front of the app set X-Forwarded-For (1 on Cloud Run; 0 = none).
    "PROXY_FIX_X_FOR": 0,
}
