# Install rules, split into the two packages' components: `runtime` (the
# daemon, sitewardctl, the plugins, configuration, unit, manual pages) and
# `dev` (the plugin SDK: headers and siteward.pc).

# Configuration, installed as the Debian package's conffiles (package.cmake
# lists them from SW_CONFFILES). The example broker configuration is
# documentation, not siteward's own configuration.
file(GLOB sw_policies CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/config/policy/*.json)
file(GLOB sw_calendars CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/config/calendars/*.json)
install(FILES config/siteward.json DESTINATION ${SW_CONF_INSTALL_DIR} COMPONENT runtime)
install(FILES ${sw_policies} DESTINATION ${SW_CONF_INSTALL_DIR}/policy COMPONENT runtime)
install(FILES ${sw_calendars} DESTINATION ${SW_CONF_INSTALL_DIR}/calendars COMPONENT runtime)
set(SW_CONFFILES ${SW_CONFIG_FILE})
foreach(f ${sw_policies} ${sw_calendars})
  get_filename_component(dir ${f} DIRECTORY)
  get_filename_component(dir ${dir} NAME)
  get_filename_component(name ${f} NAME)
  list(APPEND SW_CONFFILES ${CMAKE_INSTALL_FULL_SYSCONFDIR}/siteward/${dir}/${name})
endforeach()
install(FILES config/mosquitto.conf config/mosquitto-auth.conf config/mosquitto.acl
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples COMPONENT runtime)

# The unit starts the daemon where it is installed, with the configuration
# where it is installed.
set(SW_DAEMON_PATH ${CMAKE_INSTALL_FULL_SBINDIR}/siteward)
configure_file(systemd/siteward.service.in ${CMAKE_BINARY_DIR}/systemd/siteward.service @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/systemd/siteward.service DESTINATION ${SW_SYSTEMD_UNIT_DIR}
        COMPONENT runtime)

# Manual pages, compressed as Debian policy asks (gzip -9n: reproducible).
set(sw_man_gz)
foreach(page siteward.8 sitewardctl.1 siteward.json.5)
  string(REGEX REPLACE ".*\\.([0-9])$" "\\1" section ${page})
  add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/man/${page}.gz
                     COMMAND ${CMAKE_COMMAND} -E copy ${PROJECT_SOURCE_DIR}/man/${page}
                             ${CMAKE_BINARY_DIR}/man/${page}
                     COMMAND gzip -9nf ${CMAKE_BINARY_DIR}/man/${page}
                     DEPENDS ${PROJECT_SOURCE_DIR}/man/${page} VERBATIM)
  list(APPEND sw_man_gz ${CMAKE_BINARY_DIR}/man/${page}.gz)
  install(FILES ${CMAKE_BINARY_DIR}/man/${page}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section}
          COMPONENT runtime)
endforeach()
add_custom_target(manpages ALL DEPENDS ${sw_man_gz})

# The plugin SDK.
install(DIRECTORY include/siteward DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev)

# siteward.pc, with SW_PLUGIN_ABI from install-dirs.cmake. Its prefix is the
# one the installation is made to (cmake --install --prefix included), so it
# is written at install time; DESTDIR only stages it.
set(SW_PC_PREFIX "@SW_PC_PREFIX@")
configure_file(cmake/siteward.pc.in ${CMAKE_BINARY_DIR}/siteward.pc.in @ONLY)
install(CODE "
  set(SW_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file(\"${CMAKE_BINARY_DIR}/siteward.pc.in\" \"${CMAKE_BINARY_DIR}/pc/siteward.pc\" @ONLY)
  file(INSTALL DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig\"
       TYPE FILE FILES \"${CMAKE_BINARY_DIR}/pc/siteward.pc\")
" COMPONENT dev)
