"""Login rate limiting: after MAX_FAILURES failed logins for one username from one address within WINDOW
seconds, further tries are refused until the window passes. Kept in Django's cache (per process with the default
local-memory cache; configure a shared cache such as Redis or the database cache when running several processes).
"""
import hashlib

from django.core.cache import cache

MAX_FAILURES = 5
WINDOW = 15 * 60


def _key(username: str, ip: str) -> str:
    # Hashed: usernames are user input and cache keys must be short and plain.
    digest = hashlib.sha256(f"{(username or '').strip().lower()}|{ip}".encode()).hexdigest()
    return f"crosswalk:login-failures:{digest}"


def client_ip(request) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is set by the client unless a trusted proxy rewrites it.
    return request.META.get("REMOTE_ADDR", "")


def is_locked(username: str, ip: str) -> bool:
    return cache.get(_key(username, ip), 0) >= MAX_FAILURES


def record_failure(username: str, ip: str) -> int:
    key = _key(username, ip)
    cache.add(key, 0, WINDOW)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, WINDOW)
        return 1


def reset(username: str, ip: str) -> None:
    cache.delete(_key(username, ip))
