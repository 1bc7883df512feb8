# Installation and the Debian package (CPack). `cmake --build --preset release --target
# package` (or deploy/package.sh) makes build/release/nanum_<version>_<arch>.deb with:
#   /usr/bin/nanumd, nanumctl, nanum-oracle
#   /usr/lib/systemd/system/nanumd.service, nanum-oracle.service
#   /usr/lib/sysusers.d/nanum.conf              the dedicated user `nanum`
#   /usr/share/nanum/templates/                 a gateway's nanumd.toml and nanum-oracle.toml
#   /usr/share/doc/nanum/                       README, OPERATING, CLI, ORACLE, … and
#                                               examples/ (every option, commented)
include(GNUInstallDirs)
install(TARGETS nanumd nanumctl nanum-oracle RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES deploy/systemd/nanumd.service deploy/systemd/nanum-oracle.service
        DESTINATION lib/systemd/system)
install(FILES deploy/systemd/nanum.sysusers DESTINATION lib/sysusers.d RENAME nanum.conf)
install(FILES deploy/gateway/nanumd.toml deploy/gateway/nanum-oracle.toml DESTINATION ${CMAKE_INSTALL_DATADIR}/nanum/templates)
install(FILES deploy/nanumd.toml.sample deploy/nanum-oracle.toml.sample DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(FILES README.md docs/OPERATING.md docs/CLI.md docs/ORACLE.md docs/MARKET.md docs/LEDGER.md docs/CONSENSUS.md
              docs/PERFORMANCE.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME nanum)
set(CPACK_PACKAGE_VENDOR "nanum")
set(CPACK_PACKAGE_CONTACT "nanum maintainers <nanum@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "permissioned ledger for community energy trading")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "nanum runs a community's electricity market on a private ledger.\n Every household's home gateway runs a node (nanumd); validators agree on one ledger with PBFT; a meter oracle (nanum-oracle) signs smart plug and meter readings onto it; households, operators and auditors use nanumctl.")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_STRIP_FILES ON)  # a gateway's storage is small; debug info stays in the build tree
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # Depends: from the binaries' libraries (dpkg-shlibdeps)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/deploy/debian/postinst ${PROJECT_SOURCE_DIR}/deploy/debian/prerm
    ${PROJECT_SOURCE_DIR}/deploy/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
if(CMAKE_CROSSCOMPILING AND CMAKE_SYSTEM_PROCESSOR STREQUAL aarch64)
  set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE arm64)
endif()
include(CPack)
