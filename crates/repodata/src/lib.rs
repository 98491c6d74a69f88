//! yum/dnf repodata: primary, filelists, other, comps, modules, updateinfo and repomd.xml
