from clinic_shared.migrations import run_env
from web.adapters.sessions import metadata as sessions

run_env([sessions])
