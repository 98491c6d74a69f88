//! The osbuild phase (pungi's `osbuild`): builds images with osbuild. kiln does not drive osbuild yet, so the
//! phase runs only when `osbuild` is configured and then stops the compose with a message saying so.

kiln_engine::unsupported_phase!(OsbuildPhase, "osbuild", "osbuild", "osbuild");
