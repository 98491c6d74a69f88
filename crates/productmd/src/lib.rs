//! productmd 1.2 metadata: composeinfo, rpms, images, extra_files JSON; .treeinfo, .discinfo, media.repo
