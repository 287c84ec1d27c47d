"""The compare harness behind `python -m benchmarks.compare`: the run cache (`runs`), the
report (`report`, `stats`, `verdict`), the scripted flexibility changes (`flex`, `flex_report`)
and one runner process per framework (`frameworks`)."""
