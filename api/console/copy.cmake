# Copies the web console into the build tree beside the encbox binary
# (cmake -DSRC=api/console -DDST=<build>/console -P copy.cmake), with
# hls.js and Shaka Player from SRC/node_modules when `npm ci` has put them
# there.
file(MAKE_DIRECTORY ${DST}/vendor)
foreach(f index.html console.js console.css)
  configure_file(${SRC}/${f} ${DST}/${f} COPYONLY)
endforeach()
if(EXISTS ${SRC}/node_modules/hls.js/dist/hls.min.js)
  configure_file(${SRC}/node_modules/hls.js/dist/hls.min.js ${DST}/vendor/hls.min.js COPYONLY)
endif()
if(EXISTS ${SRC}/node_modules/shaka-player/dist/shaka-player.compiled.js)
  configure_file(${SRC}/node_modules/shaka-player/dist/shaka-player.compiled.js
                 ${DST}/vendor/shaka-player.compiled.js COPYONLY)
endif()
