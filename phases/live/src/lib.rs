//! The live phase (pungi's `live_media`): builds images with livemedia-creator. kiln does not drive livemedia-creator yet, so the
//! phase runs only when `live_media` is configured and then stops the compose with a message saying so.

kiln_engine::unsupported_phase!(LivePhase, "live", "live_media", "livemedia-creator");
