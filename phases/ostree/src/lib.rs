//! The ostree phase (pungi's `ostree`): builds images with ostree/rpm-ostree. kiln does not drive ostree/rpm-ostree yet, so the
//! phase runs only when `ostree` is configured and then stops the compose with a message saying so.

kiln_engine::unsupported_phase!(OstreePhase, "ostree", "ostree", "ostree/rpm-ostree");
