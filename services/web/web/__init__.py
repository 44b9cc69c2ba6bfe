import warnings

import authlib.deprecate  # noqa: F401 (it installs an "always" filter that must come before ours)

# Authlib 1.9 asks for the `httpx2` package and falls back to httpx, which it calls deprecated; the
# fallback is the supported path of this release, so the warning is noise in every log.
warnings.filterwarnings("ignore", message="The httpx module is deprecated", module=r"authlib\.")
