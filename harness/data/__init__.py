"""Preference data: the synthetic verifiable task and loaders for real data sets, all producing
TRL's conversational rows (prompt / chosen / rejected as lists of {role, content})."""
from harness.registry import Registry

#: Data loaders: one file in harness/data/ plus one line here, "module:function". A loader takes
#: (path, *, skip_bad_rows, limit, offset, **options) and returns (rows, report).
LOADERS: Registry[str] = Registry("data loader")
LOADERS.add("hh_rlhf", "harness.data.hh_rlhf:load_hh_rlhf")
LOADERS.add("ultrafeedback", "harness.data.ultrafeedback:load_ultrafeedback")
LOADERS.add("generic", "harness.data.generic:load_generic")
LOADERS.add("gsm8k", "harness.data.gsm8k:load_gsm8k")
