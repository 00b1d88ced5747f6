"""Who is asking: the client's address for login throttling (django-axes)."""

from django.conf import settings


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or behind TRUSTED_PROXIES proxies (a load balancer)
    the address the nearest of them saw, from X-Forwarded-For. Never further left than the
    trusted proxies reach: what a client writes there itself is not trusted, so nobody can
    lock someone else out, or dodge the lock, by forging the header."""
    proxies = settings.TRUSTED_PROXIES
    if proxies:
        forwarded = [
            part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        ]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")
