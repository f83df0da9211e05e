"""Configuration as code: the models, rules, channels (and, when present, policies,
inhibit rules and silences) of a server as one YAML file (docs/config-as-code.md).

`document` holds the file as a whole (export, check, apply, the diff); each section is a
module of its own (`monitored_models`, `channels`, `rules`), listed in
`document.SECTIONS` in the order their objects depend on each other.
"""
