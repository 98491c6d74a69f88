//! Compose identity and layout: compose IDs, labels, STATUS, every path of a compose
