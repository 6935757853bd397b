# Copies the web console into the build tree beside the encbox binary
# (cmake -DSRC=api/console -DDST=<build>/console -P copy.cmake), with
# hls.js from SRC/node_modules when `npm ci` has put it there.
file(MAKE_DIRECTORY ${DST}/vendor)
foreach(f index.html console.js console.css)
  configure_file(${SRC}/${f} ${DST}/${f} COPYONLY)
endforeach()
if(EXISTS ${SRC}/node_modules/hls.js/dist/hls.min.js)
  configure_file(${SRC}/node_modules/hls.js/dist/hls.min.js ${DST}/vendor/hls.min.js COPYONLY)
endif()
