# Where an installed siteward keeps its parts (GNUInstallDirs; with the
# Debian prefix /usr: /usr/sbin, /usr/lib/<multiarch>/siteward, /etc/siteward,
# /lib/systemd/system). Included before the subdirectories, which use these.

# An install rule that names no component belongs to the siteward package.
set(CMAKE_INSTALL_DEFAULT_COMPONENT_NAME runtime)

# A system daemon goes in sbin (Debian policy, as mosquitto does); the tool
# operators run goes in bin.
set(SW_DAEMON_INSTALL_DIR ${CMAKE_INSTALL_SBINDIR})
set(SW_PLUGIN_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/siteward)

# The daemon finds its plugins relative to its own executable, so an
# installed tree works wherever it was installed (cmake --install --prefix,
# DESTDIR, an unpacked package) without configuration. The build tree keeps
# the same relative layout: bin/siteward and bin/${SW_PLUGIN_RELDIR}.
file(RELATIVE_PATH SW_PLUGIN_RELDIR ${CMAKE_INSTALL_PREFIX}/${SW_DAEMON_INSTALL_DIR}
     ${CMAKE_INSTALL_PREFIX}/${SW_PLUGIN_INSTALL_DIR})
get_filename_component(SW_PLUGIN_BUILD_DIR ${CMAKE_BINARY_DIR}/bin/${SW_PLUGIN_RELDIR} ABSOLUTE)
string(FIND "${SW_PLUGIN_BUILD_DIR}/" "${CMAKE_BINARY_DIR}/" at)
if(NOT at EQUAL 0)
  message(FATAL_ERROR "CMAKE_INSTALL_SBINDIR=${CMAKE_INSTALL_SBINDIR} and CMAKE_INSTALL_LIBDIR="
                      "${CMAKE_INSTALL_LIBDIR} put the plugins outside the build tree's layout")
endif()

# GNUInstallDirs makes SYSCONFDIR /etc for the prefix /usr (and only the
# FULL_ form says so). Inside the prefix the relative form is kept, so that
# cmake --install --prefix moves the configuration with everything else.
string(FIND "${CMAKE_INSTALL_FULL_SYSCONFDIR}/" "${CMAKE_INSTALL_PREFIX}/" at)
if(at EQUAL 0)
  set(SW_CONF_INSTALL_DIR ${CMAKE_INSTALL_SYSCONFDIR}/siteward)
else()
  set(SW_CONF_INSTALL_DIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/siteward)
endif()
set(SW_CONFIG_FILE ${CMAKE_INSTALL_FULL_SYSCONFDIR}/siteward/siteward.json)
set(SW_STATE_DIR ${CMAKE_INSTALL_FULL_LOCALSTATEDIR}/lib/siteward)

# Debian 12's systemd looks for packaged units in /lib/systemd/system
# (pkg-config --variable=systemdsystemunitdir systemd); other prefixes keep
# the unit inside the prefix.
# -DSW_SYSTEMD_UNIT_DIR=... overrides.
if(NOT DEFINED SW_SYSTEMD_UNIT_DIR)
  if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    set(SW_SYSTEMD_UNIT_DIR /lib/systemd/system)
  else()
    set(SW_SYSTEMD_UNIT_DIR lib/systemd/system)
  endif()
endif()

# The plugin ABI version siteward.pc announces: the SDK's SW_PLUGIN_ABI_CURRENT.
file(STRINGS include/siteward/plugin.h sw_abi_lines REGEX "^#define SW_PLUGIN_ABI_")
string(REGEX MATCH "SW_PLUGIN_ABI_CURRENT[ \t]+([A-Z0-9_]+)" _ "${sw_abi_lines}")
string(REGEX MATCH "${CMAKE_MATCH_1}[ \t]+([0-9]+)" _ "${sw_abi_lines}")
set(SW_PLUGIN_ABI ${CMAKE_MATCH_1})
if(NOT SW_PLUGIN_ABI MATCHES "^[0-9]+$")
  message(FATAL_ERROR "include/siteward/plugin.h: no numeric SW_PLUGIN_ABI_CURRENT")
endif()
