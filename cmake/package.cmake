# Debian packages with CPack: `siteward` (component runtime) and
# `siteward-dev` (component dev). Build them from a tree configured with the
# Debian prefix, so that paths are /usr/sbin, /usr/lib/<multiarch>, /etc:
#   cmake -B build-deb -DCMAKE_INSTALL_PREFIX=/usr -DSW_TESTS=OFF
#   cmake --build build-deb -j2 && cpack --config build-deb/CPackConfig.cmake
# The first line of each package's description is its synopsis, so
# CPACK_PACKAGE_DESCRIPTION_SUMMARY is left unset (CPack would prepend it).
set(SW_PACKAGE_MAINTAINER "siteward maintainers <maintainers@siteward.invalid>" CACHE STRING
    "Maintainer field of the Debian packages")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME siteward)
set(CPACK_PACKAGE_VENDOR siteward)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT ${SW_PACKAGE_MAINTAINER})
set(CPACK_PACKAGE_HOMEPAGE_URL https://github.com/siteward/siteward)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/packages)
# The packages hold the layout this tree was configured for, staged with
# DESTDIR so that the install-time siteward.pc names the real prefix.
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_SET_DESTDIR ON)
set(CPACK_STRIP_FILES ON)

set(CPACK_COMPONENTS_ALL runtime dev)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${SW_PACKAGE_MAINTAINER})
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME siteward)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION net)
# Library dependencies (libuv1, liblmdb0, libpaho-mqtt1.3, libcjson1, libc6)
# come from dpkg-shlibdeps, for the daemon, sitewardctl and the plugins.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SUGGESTS mosquitto)
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION
    "incident desk for managed property sites over MQTT
siteward turns fire alarms, elevator entrapments, burst pipes, forced gates
and residents' reports arriving over MQTT into incidents, computes the due
times the site's service standards set, escalates what is missed and keeps
every step in LMDB for the post-incident review. Includes sitewardctl, the
built-in pipeline plugins and a systemd unit (DynamicUser, so no account is
created).")
# Edited configuration survives upgrades. The unit runs with DynamicUser=
# and StateDirectory=, so there is no account or directory to create and no
# maintainer script.
string(REPLACE ";" "\n" sw_conffiles "${SW_CONFFILES}")
file(WRITE ${CMAKE_BINARY_DIR}/debian/runtime/conffiles "${sw_conffiles}\n")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA ${CMAKE_BINARY_DIR}/debian/runtime/conffiles)

set(CPACK_DEBIAN_DEV_PACKAGE_NAME siteward-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_ARCHITECTURE all)
# The SDK headers include <cjson/cJSON.h>; siteward.pc requires libcjson.
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libcjson-dev, pkg-config | pkgconf")
set(CPACK_DEBIAN_DEV_DESCRIPTION
    "plugin SDK for siteward
Headers of the siteward plugin ABI (include/siteward/plugin.h) and the
pkg-config file siteward.pc, to build pipeline plugins such as a site's own
classifier or notifier out of the siteward source tree.")

include(CPack)
