# The Debian package: `scripts/package` (or `cpack -G DEB` in a build tree configured with
# CMAKE_INSTALL_PREFIX=/usr). One package, hamon: the command, the daemons in
# /usr/libexec/hamon, the client (headers, CMake package, pkg-config), the systemd unit, docs and
# examples; a system user "hamon" made on install (packaging/debian/).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME hamon)
set(CPACK_PACKAGE_VENDOR hamon)
set(CPACK_PACKAGE_CONTACT "hamon maintainers <hamon@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_DESCRIPTION
    "hamon watches every process of a call-center node at its own frequency, notices a crash or\n\
a hang in well under a millisecond, starts dependencies in order, and moves tenants to the\n\
duplex peer when a node cannot keep them.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
# The shared libraries it links (libsodium, toml++, libstdc++, ...) found by dpkg-shlibdeps;
# adduser for the user postinst makes.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
    ${PROJECT_SOURCE_DIR}/packaging/debian/prerm
    ${PROJECT_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
