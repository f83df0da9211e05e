"""Configuration as code: the models, channels, rules, notification policies and inhibit
rules of a server as one YAML file (docs/config-as-code.md).

`document` holds the file as a whole (export, check, apply, the diff); each section is a
module of its own (`monitored_models`, `channels`, `rules`, `policies`, `inhibit_rules`),
listed in `document.SECTIONS` in the order their objects depend on each other. A new
section is one more module with a `Section` subclass (`base.py`) and one more entry in
that list.
"""
