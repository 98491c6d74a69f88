//! The compose configuration: YAML with pungi's option names, validated before anything runs
