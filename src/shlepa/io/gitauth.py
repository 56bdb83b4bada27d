"""A token for git's HTTPS pushes and fetches, handed over through ``GIT_CONFIG_*``.

The token never appears on a command line (``ps``), in ``.git/config`` (a later job on the
same machine could read it) or in a remote URL (git prints those in errors): it is one
extra HTTP header in the environment of the git process only. The queue's pushes and the
branch details store share this one recipe.
"""

from __future__ import annotations

import base64


def with_token(env: dict[str, str], token: str | None) -> dict[str, str]:
    """``env`` with git told to send ``token`` to github.com (unchanged without a token)."""
    if not token:
        return env
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    count = int(env.get("GIT_CONFIG_COUNT", "0") or 0)
    return {
        **env,
        "GIT_CONFIG_COUNT": str(count + 1),
        f"GIT_CONFIG_KEY_{count}": "http.https://github.com/.extraheader",
        f"GIT_CONFIG_VALUE_{count}": f"AUTHORIZATION: basic {basic}",
    }
