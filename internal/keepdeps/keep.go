package keepdeps

import _ "github.com/spf13/afero"
