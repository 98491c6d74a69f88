//! The kiwi phase (pungi's `kiwibuild`): builds images with kiwi-ng. kiln does not drive kiwi-ng yet, so the
//! phase runs only when `kiwibuild` is configured and then stops the compose with a message saying so.

kiln_engine::unsupported_phase!(KiwiPhase, "kiwi", "kiwibuild", "kiwi-ng");
