//! Every phase kiln runs, one per crate under `phases/`.

use kiln_engine::Phase;

pub fn all() -> Vec<Box<dyn Phase>> {
    vec![
        Box::new(kiln_phase_init::InitPhase),
        Box::new(kiln_phase_pkgset::PkgsetPhase),
        Box::new(kiln_phase_buildinstall::BuildinstallPhase),
        Box::new(kiln_phase_gather::Gather),
        Box::new(kiln_phase_extrafiles::ExtraFilesPhase),
        Box::new(kiln_phase_createrepo::Createrepo),
        Box::new(kiln_phase_ostree::OstreePhase),
        Box::new(kiln_phase_createiso::CreateIso),
        Box::new(kiln_phase_extraisos::ExtraIsos),
        Box::new(kiln_phase_live::LivePhase),
        Box::new(kiln_phase_imagebuild::ImageBuildPhase),
        Box::new(kiln_phase_kiwi::KiwiPhase),
        Box::new(kiln_phase_osbuild::OsbuildPhase),
        Box::new(kiln_phase_repoclosure::Repoclosure),
        Box::new(kiln_phase_imagechecksum::ImageChecksum),
        Box::new(kiln_phase_test::Test),
    ]
}
