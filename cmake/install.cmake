# Installs the client (headers, CMake package hamon::client, pkg-config hamon-client).
include(CMakePackageConfigHelpers)

install(TARGETS hamon_client EXPORT hamonTargets COMPONENT client)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/shm/include/hamon
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        COMPONENT client FILES_MATCHING PATTERN "*.h" PATTERN "*.hpp")
install(EXPORT hamonTargets NAMESPACE hamon:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/hamon
        COMPONENT client)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/hamonConfig.cmake.in
  ${PROJECT_BINARY_DIR}/hamonConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/hamon)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/hamonConfigVersion.cmake
  COMPATIBILITY SameMajorVersion ARCH_INDEPENDENT)
install(FILES ${PROJECT_BINARY_DIR}/hamonConfig.cmake ${PROJECT_BINARY_DIR}/hamonConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/hamon COMPONENT client)

# Relocatable: the prefix is found from where the .pc file lies, so `cmake --install --prefix`
# anywhere gives a working pkg-config file.
file(RELATIVE_PATH HAMON_PC_TO_PREFIX ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
configure_file(${PROJECT_SOURCE_DIR}/cmake/hamon-client.pc.in
               ${PROJECT_BINARY_DIR}/hamon-client.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/hamon-client.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT client)

# The systemd unit and the runtime directory (component "node"; where systemd looks, not under a
# multiarch libdir), the documentation the unit points to, example configurations, and bash
# completion made by the built `hamon` itself.
configure_file(${PROJECT_SOURCE_DIR}/packaging/hamon@.service.in
               ${PROJECT_BINARY_DIR}/hamon@.service @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/hamon@.service DESTINATION lib/systemd/system COMPONENT node)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/tmpfiles.conf DESTINATION lib/tmpfiles.d
        RENAME hamon.conf COMPONENT node)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT node)
install(FILES ${PROJECT_SOURCE_DIR}/config/one-node.toml ${PROJECT_SOURCE_DIR}/config/demo-duplex.toml
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples COMPONENT node)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/grafana/hamon.json
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples RENAME grafana-dashboard.json COMPONENT node)
add_custom_command(OUTPUT ${PROJECT_BINARY_DIR}/hamon.bash-completion
                   COMMAND hamon completion bash > ${PROJECT_BINARY_DIR}/hamon.bash-completion
                   DEPENDS hamon VERBATIM)
add_custom_target(hamon-bash-completion ALL DEPENDS ${PROJECT_BINARY_DIR}/hamon.bash-completion)
install(FILES ${PROJECT_BINARY_DIR}/hamon.bash-completion
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME hamon
        COMPONENT node)
