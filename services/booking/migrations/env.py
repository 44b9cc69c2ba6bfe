from booking.adapters.tables import metadata
from clinic_shared.migrations import run_env
from clinic_shared.tables import metadata as plumbing

run_env([metadata, plumbing])
