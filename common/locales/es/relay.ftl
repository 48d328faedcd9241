# tiprelay: mensajes en español, relay.

## tiprelay: errores de configuración
relay-err-config-read = no se puede leer la configuración { $path }: { $error }
relay-err-config-key = { $path }: clave `{ $key }`: { $why }
relay-cfg-not-address = «{ $value }» no es una dirección: { $error }
relay-cfg-not-host-port = «{ $value }» no es una dirección (host:puerto): { $error }
relay-cfg-no-file = { $path } no existe
relay-cfg-operator-missing = falta: un relé compartido por las jurisdicciones (modo hub) nombra la CA del operador del relé en [operator]; el relé propio de una jurisdicción nombra su jurisdicción y su par en [federation]
relay-cfg-operator-and-federation = un relé federado lo certifica la CA de su propia jurisdicción, no la de un operador: quite [operator], o [federation] para un único relé compartido
relay-cfg-listed-twice = { $jurisdiction } aparece dos veces
relay-cfg-two-jurisdictions = se necesitan al menos dos jurisdicciones
relay-cfg-pair-two = un par nombra exactamente dos jurisdicciones
relay-cfg-pair-unknown = { $jurisdiction } no es una [[jurisdiction]] configurada
relay-cfg-pair-same = un par necesita dos jurisdicciones distintas
relay-cfg-no-pair = se necesita al menos un [[pair]]
relay-cfg-peer-is-home = { $peer } es la jurisdicción propia de este relé (home)
relay-cfg-federated-jurisdictions = un relé federado lista exactamente su propia jurisdicción ({ $home }) y la de su par ({ $peer }), cada una con su raíz y su CRL
relay-cfg-federated-pair = se necesita un [[pair]] de { $home } y { $peer }
relay-cfg-peer-identity = «{ $identity }» no es un relé de { $peer }: debe ser tiprelay://{ $peer }/relay/NOMBRE
relay-cfg-not-server-name = «{ $value }» no es un nombre DNS ni una dirección IP
relay-cfg-at-least = debe ser al menos { $min }
relay-cfg-at-least-kib = debe ser al menos { $min } KiB
relay-cfg-out-of-range = vale { $value }, fuera del intervalo permitido de { $min } a { $max } (el relé lo rechaza en lugar de funcionar con otro valor)
relay-cfg-tls-needs-ca = pide TLS (sslmode=require): indique [store] tls_ca, la CA del certificado de la base de datos
relay-cfg-client-cert-needs-ca = requiere [store] tls_ca (TLS hacia la base de datos)
relay-cfg-file-error = { $path }: { $error }
relay-cfg-cert-and-key = indique tls_cert y tls_key juntos, o ninguno
relay-cfg-store-path = indique el archivo del almacén ([store] path, o [relay] store)
relay-cfg-postgres-only = url, password_file, tls_ca, tls_cert y tls_key son solo para kind = "postgres"
relay-cfg-missing = falta
relay-cfg-store-url = indique la base de datos, p. ej. "host=/var/run/postgresql dbname=tiprelay user=tiprelay"
relay-cfg-not-pg-url = no es una cadena de conexión de PostgreSQL: { $error }
relay-cfg-url-password = contiene una contraseña: póngala en [store] password_file o en ${ $env }
relay-cfg-url-dbname = nombre la base de datos (dbname=…)
relay-cfg-cannot-read = no se puede leer { $path }: { $error }
relay-cfg-redb-only = solo para kind = "redb"
relay-cfg-relay-store-with-postgres = quítela: el almacén de este relé es PostgreSQL ([store])
relay-cfg-store-kind = «{ $value }»: elija "redb" o "postgres"

## tiprelay: errores de arranque y del almacén
relay-err-metrics-listen = no se pueden atender métricas en { $addr }
relay-err-listen = no se puede escuchar en { $addr }
relay-err-open-store = no se puede abrir el almacén { $path }
relay-err-refusing-to-start = el relé no arranca
relay-err-record-crl-floors = no se pueden registrar en el almacén los números de CRL
relay-err-cancelled = se detuvo mientras esperaba la concesión del almacén (en espera); no se atendió nada
relay-err-lease-lost = este relé ya no tiene la concesión del almacén: otro relé la tomó; este se detiene (reintente: responde el relé siguiente)
relay-err-wrong-identity = el certificado de firma del relé nombra a { $identity }, pero { $expected }
relay-identity-expected-shared = el relé compartido (sin [federation]) lo certifica la CA del operador del relé como tiprelay://OPERATOR/relay/NOMBRE
relay-identity-expected-federated = [federation] home = "{ $home }" hace de este el relé propio de { $home }, certificado por la CA de { $home } como tiprelay://{ $home }/relay/NOMBRE
relay-err-task = tarea del relé
relay-err-store-conflict = el aviso { $id } de { $from } ya se aceptó con otro contenido (resumen { $existing }); elija un identificador nuevo
relay-err-store-full = el almacén del relé está lleno; se rechazan avisos nuevos hasta que se libere espacio
relay-err-store-quota = { $author } tiene { $pending } bytes de avisos aún sin confirmar por la jurisdicción destinataria; su cuota es de { $quota } bytes; reintente cuando se confirmen avisos
relay-err-store-corrupt = el almacén está dañado: { $detail }
relay-err-store-failed = fallo del almacén: { $detail }
relay-err-store-closed = el relé se está deteniendo
relay-err-export-exists = { $path } ya existe; elija otro nombre
relay-runtime = no se puede iniciar el entorno de ejecución: { $error }

## tiprelay check-config
relay-db-unreachable = [store] { $store }: no se puede contactar la base de datos
relay-db-no-store = base de datos accesible; aún no hay almacén del relé (lo crea `tiprelay serve` o `tiprelay migrate`)
relay-db-current = base de datos accesible; esquema del relé versión { $version } (la actual)
relay-db-older = base de datos accesible; esquema del relé versión { $version }: `tiprelay migrate` lo lleva a la { $current }
relay-db-newer = [store] { $store }: el esquema del relé en la base de datos es la versión { $version }, más nueva que la { $current } de este relé: actualice el relé
relay-db-standby = AVISO: este servidor es una réplica en espera (solo lectura): liste también el primario, con target_session_attrs=read-write
relay-db-lease = concesión del almacén: época { $epoch }, tomada por última vez por { $holder } el { $since }
relay-config-ok = configuración correcta: escucha en { $listen }, jurisdicciones { $jurisdictions }, pares { $pairs }, almacén { $store }
relay-config-federation = federación: relé propio de { $home }; par: el relé de { $peer } en { $address } (nombre de servidor { $server_name })

## tiprelay peers
relay-peers-hub = { $config }: este relé es el relé compartido de todas las jurisdicciones (sin [federation]): no tiene relé par
relay-peers-link = enlace { $home } → { $peer }: el relé de { $peer } en { $address } (nombre de servidor { $server_name })
relay-peers-state = enlace:                     { $state }
relay-peers-up = activo
relay-peers-down = CAÍDO (los avisos esperan aquí; cruzan en orden cuando vuelva)
relay-peers-unknown = desconocido (defina [metrics] listen para que `tiprelay peers` pregunte al relé en marcha)
relay-peers-tips-to = avisos para { $peer }:             { $accepted } aceptados aquí; { $crossed } con recibo del relé de { $peer }; { $queued } en cola
relay-peers-tips-to-oldest = avisos para { $peer }:             { $accepted } aceptados aquí; { $crossed } con recibo del relé de { $peer }; { $queued } en cola (el más antiguo aceptado hace { $seconds } s)
relay-peers-notices = confirmaciones/respuestas:  { $count } esperando el enlace
relay-peers-statements = declaraciones:              { $count } esperando el enlace
relay-peers-tips-from = avisos de { $peer }:               { $count } recibidos por el enlace

## tiprelay migrate, audit export
relay-migrate-nothing = { $store }: esquema versión { $version }, nada que migrar
relay-migrate-done = { $store }: esquema migrado de la versión { $before } a la { $after }
relay-export-written = se escribió { $file }: registro { $log }, entradas { $first }..{ $end } ({ $count }), { $checkpoints ->
        [one] 1 punto de control firmado
       *[other] { $checkpoints } puntos de control firmados
    }

## tiprelay: un almacén que el comando no puede usar
relay-store-in-use = { $path } lo está usando otro proceso (¿ya hay un relé en marcha?)
relay-store-absent = { $path } no existe (¿se ha ejecutado alguna vez este relé?)
relay-store-read-only = { $path } está abierto solo para lectura
relay-store-no-checkpoint = el relé aún no ha firmado ningún punto de control; no hay nada que exportar
relay-store-db-empty = la base de datos aún no contiene ningún almacén del relé (¿se ha ejecutado alguna vez este relé?)
relay-store-db-other-schema = el esquema del relé en la base de datos es la versión { $version } y el de esta herramienta la { $ours }: ejecute `tiprelay migrate`, o actualice
relay-store-db-newer = el esquema del relé en la base de datos es la versión { $version }, más nueva que la { $ours } de este relé: actualice el relé
relay-store-newer = { $path } contiene un almacén de relé de la versión de esquema { $found }, más nueva que la { $ours } de este tiprelay: lo escribió una versión posterior; ejecute esa versión (o una posterior), o restaure una copia de seguridad hecha con esta

## check-config: los archivos
relay-check-key-mismatch = la clave privada { $key } no es la clave del certificado { $cert } ({ $why }): instale la clave emitida con ese certificado
relay-check-root-unreadable = { $file } no es un certificado legible: { $why }
relay-check-root-swapped = { $file } es la CA raíz de { $named } (sujeto { $subject }), pero está configurada como raíz de { $configured }: ¿se intercambiaron dos raíces? Ponga el ca.crt de cada jurisdicción bajo su código
relay-check-root-unnamed = { $file } (configurada como raíz de { $configured }) no nombra a su autoridad en el sujeto, así que esta comprobación no puede saber de quién es la CA: compare su SHA-256 { $fingerprint } con el que le dio { $configured }
relay-check-not-issued = { $file } no es un certificado válido de { $issuer } para este relé: { $why }

## tiprelay backup
relay-backup-postgres = { $store } es un almacén PostgreSQL: haga su copia de seguridad con las herramientas de la propia base de datos, que toman una sola instantánea coherente: pg_dump --format=custom --file=tiprelay.dump <base de datos> (docs/OPERATIONS.md, «Backups and restore»); tiprelay backup solo copia almacenes redb
relay-backup-exists = { $path } ya existe; elija otro nombre, o añada --force para reemplazarlo
relay-backup-is-the-store = { $path } es el propio almacén del relé; escriba la copia de seguridad en otro archivo
relay-backup-unknown-table = el almacén contiene una tabla «{ $name }» que este tiprelay no conoce (¿escrita por una versión más reciente?); no se copió nada: haga la copia de seguridad con el tiprelay de esa versión
relay-backup-unverified = la copia no se verifica, así que se eliminó: { $why }
relay-backup-rows-differ = las filas por tabla de la copia { $read } difieren de las de la instantánea { $copied }
relay-backup-not-read-only = no se pudo abrir la copia en solo lectura
relay-backup-entry-missing = falta la entrada { $index } del registro de auditoría
relay-backup-leaf-differs = el hash de la entrada { $index } del registro de auditoría no es la hoja guardada para ella
relay-backup-bad-signature = la firma del punto de control de { $size } entradas no se verifica: { $error }
relay-backup-checkpoint-size = el punto de control más reciente declara { $size } entradas, pero el registro tiene { $entries }
relay-backup-root-differs = la raíz de las primeras { $size } entradas, recalculada a partir de la copia, es { $computed }, pero el punto de control firmado dice { $root }
relay-backup-done = Copia de seguridad escrita en { $file } ({ $bytes } bytes, { $ms } ms), comprobada
relay-backup-sha256 = SHA-256: { $sha256 }
relay-backup-counts = avisos: { $tips }; entradas del registro de auditoría: { $entries }; versión del esquema { $version }
relay-backup-checkpoint = punto de control firmado más reciente: { $size } entradas, raíz { $root }, firmado { $time }, { $cosignatures } cofirmas (su raíz recalculada a partir de las entradas de la copia, su firma verificada)
relay-backup-no-checkpoint = el relé aún no había firmado ningún punto de control: las entradas del registro de auditoría solo se comprobaron contra sus hashes guardados
relay-backup-keep = Guárdela cifrada y fuera de esta máquina: contiene el cuerpo de los avisos. Para restaurar: docs/OPERATIONS.md, «Backups and restore».

## La clave de firma en un token PKCS#11 (relay/src/pkcs11.rs)
relay-pkcs11-uri-bad = «{ $uri }» no es un URI de clave PKCS#11 utilizable: { $why }
relay-pkcs11-uri-scheme = debe comenzar con pkcs11:
relay-pkcs11-uri-pin = un PIN no debe estar en la configuración: póngalo en un archivo que solo pueda leer el usuario del relé e indique ese archivo con `pkcs11_pin_file`
relay-pkcs11-uri-query = no se aceptan atributos de consulta ({ $query }): indique el módulo con `pkcs11_module` y el archivo del PIN con `pkcs11_pin_file`
relay-pkcs11-uri-attribute = «{ $attribute }» no tiene la forma nombre=valor
relay-pkcs11-uri-escape = «{ $value }» tiene un % que no va seguido de dos dígitos hexadecimales
relay-pkcs11-uri-utf8 = el valor de { $name } no es texto UTF-8
relay-pkcs11-uri-twice = { $name } aparece dos veces
relay-pkcs11-uri-slot-id = slot-id «{ $value }» no es un número
relay-pkcs11-uri-type = type={ $value }: el relé firma con una clave privada (type=private, u omita type)
relay-pkcs11-uri-unknown = atributo desconocido { $name } (conocidos: token, serial, manufacturer, model, slot-id, object, id, type)
relay-pkcs11-uri-no-object = no indica ninguna clave: añada object=<etiqueta> o id=<id>
relay-pkcs11-uri-no-token = no indica ningún token: añada token=<etiqueta> (o serial=, slot-id=)
relay-pkcs11-module-not-found = el módulo PKCS#11 { $module } (`pkcs11_module`) no existe: instale la biblioteca del token (Debian: apt-get install softhsm2 para /usr/lib/softhsm/libsofthsm2.so) o corrija la ruta
relay-pkcs11-module-unusable = { $module } (`pkcs11_module`) no se puede usar como módulo PKCS#11: { $why }
relay-pkcs11-token-not-found = ningún token coincide con { $wanted }; tokens presentes: { $present } (véalos con: softhsm2-util --show-slots, o pkcs11-tool --module <módulo> --list-tokens)
relay-pkcs11-token-ambiguous = { $count } tokens coinciden con { $wanted }: añada serial= al URI para indicar uno
relay-pkcs11-pin-file = el archivo del PIN { $path } (`pkcs11_pin_file`) no se puede usar: { $why }
relay-pkcs11-pin-empty = está vacío
relay-pkcs11-pin-needed = el token { $token } requiere iniciar sesión: establezca `pkcs11_pin_file` con un archivo que contenga el PIN de usuario
relay-pkcs11-wrong-pin = el token { $token } rechazó el PIN de { $pin_file }: ponga en ese archivo el PIN de usuario del token (demasiados PIN erróneos bloquean el token)
relay-pkcs11-pin-locked = el token { $token } bloqueó su PIN de usuario tras demasiados PIN erróneos: su responsable de seguridad debe desbloquearlo (softhsm2-util no puede; pkcs11-tool --login --login-type so --init-pin)
relay-pkcs11-no-such-object = el token { $token } no contiene ninguna clave privada con { $object } (vea sus claves con: pkcs11-tool --module <módulo> --token-label { $token } --login --list-objects --type privkey)
relay-pkcs11-object-ambiguous = el token { $token } contiene { $count } claves privadas con { $object }: añada id= al URI para indicar una
relay-pkcs11-no-public-key = el token { $token } contiene la clave privada { $object } pero ningún objeto de clave pública con la misma etiqueta o id, que el relé necesita para comprobar la clave con `signing_cert`
relay-pkcs11-not-ed25519 = la clave { $object } no es una clave Ed25519 ({ $found }): genere un par de claves Ed25519 (CKM_EC_EDWARDS_KEY_PAIR_GEN, curva edwards25519)
relay-pkcs11-no-eddsa = el token { $token } no ofrece firmas EdDSA (CKM_EDDSA): use un token que las ofrezca (SoftHSM2 2.6 o posterior, compilado con OpenSSL 1.1.1 o posterior)
relay-pkcs11-certificate = la clave { $uri } no puede firmar por `signing_cert`: { $why }
relay-pkcs11-failed = PKCS#11 falló al { $step }: { $why }
relay-pkcs11-step-slots = listar las ranuras
relay-pkcs11-step-token-info = leer la información de un token
relay-pkcs11-step-mechanisms = listar los mecanismos del token
relay-pkcs11-step-session = abrir una sesión
relay-pkcs11-step-login = iniciar sesión
relay-pkcs11-step-find-key = buscar la clave privada
relay-pkcs11-step-key-type = leer el tipo de la clave
relay-pkcs11-step-find-public = buscar la clave pública
relay-pkcs11-step-ec-point = leer la clave pública (CKA_EC_POINT)
relay-pkcs11-needs-module = una clave PKCS#11 necesita `relay.pkcs11_module`, la biblioteca del token (SoftHSM2: /usr/lib/softhsm/libsofthsm2.so)
relay-pkcs11-only-with-uri = `{ $key }` es solo para una clave de firma en un token (`signing_key = "pkcs11:…"`)
