//! The imagebuild phase (pungi's `image_build`): builds images with ImageFactory. kiln does not drive ImageFactory yet, so the
//! phase runs only when `image_build` is configured and then stops the compose with a message saying so.

kiln_engine::unsupported_phase!(ImageBuildPhase, "imagebuild", "image_build", "ImageFactory");
