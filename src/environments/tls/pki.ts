/**
 * A private certificate authority made when an environment comes up, and the certificates it
 * issues: one per server (NATS nodes, Redis nodes) with the names clients dial as SANs, one per
 * client (each service, the probes), and the bad ones faults present — expired (signed by this
 * CA, validity in the past) and untrusted (signed by a CA nobody trusts).
 *
 * @peculiar/x509 over Node's WebCrypto builds them: ECDSA P-256 keys take a millisecond each (an
 * RSA key in pure JS takes a second), and validity dates can be set freely, which the openssl CLI
 * cannot do for an expired certificate without a `ca` database. Keys are written as PKCS#8 PEM,
 * which nats-server (Go), redis-server (OpenSSL) and Node all read.
 */
import 'reflect-metadata'
import * as x509 from '@peculiar/x509'
import { webcrypto } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { join } from 'node:path'

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0])

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const
const DAY_MS = 86_400_000

/** A certificate and its key, PEM-encoded. */
export interface CertificatePem {
  cert: string
  key: string
  /** SHA-256 of the DER certificate, hex: what a TLS peer sees */
  fingerprint: string
}

export interface IssueOptions {
  /** DNS names and IP addresses the certificate is valid for (servers) */
  names?: string[]
  notBefore?: Date
  notAfter?: Date
}

type Keys = webcrypto.CryptoKeyPair

const pem = async (key: webcrypto.CryptoKey) => x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key as never), 'PRIVATE KEY')

let serial = BigInt(Date.now()) * 1000n
const nextSerial = () => (++serial).toString(16).padStart(16, '0')

async function fingerprintOf(cert: x509.X509Certificate): Promise<string> {
  return Buffer.from(await cert.getThumbprint('SHA-256')).toString('hex')
}

export class CertificateAuthority {
  private constructor(
    readonly name: string,
    private readonly certificate: x509.X509Certificate,
    private readonly keys: Keys,
  ) {}

  /** A new self-signed CA, valid from a day ago (clock skew) for `days`. */
  static async create(name: string, days = 365): Promise<CertificateAuthority> {
    const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as Keys
    const certificate = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: nextSerial(),
      name: `CN=${name}`,
      notBefore: new Date(Date.now() - DAY_MS),
      notAfter: new Date(Date.now() + days * DAY_MS),
      keys,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    })
    return new CertificateAuthority(name, certificate, keys)
  }

  /** A CA read back from its PEM files (the environment keeps it for certificates issued later, by faults). */
  static async load(certPem: string, keyPem: string): Promise<CertificateAuthority> {
    const certificate = new x509.X509Certificate(certPem)
    const der = x509.PemConverter.decodeFirst(keyPem)
    const privateKey = await webcrypto.subtle.importKey('pkcs8', der, ALGORITHM, true, ['sign'])
    const publicKey = await certificate.publicKey.export(ALGORITHM, ['verify'])
    return new CertificateAuthority(certificate.subject.replace(/^CN=/, ''), certificate, { privateKey, publicKey } as Keys)
  }

  get certPem(): string {
    return this.certificate.toString('pem')
  }

  async keyPem(): Promise<string> {
    return pem(this.keys.privateKey)
  }

  /**
   * A server certificate. It is also good for client authentication: a NATS node presents the
   * same certificate when it dials a route to another node, and that node verifies it.
   */
  issueServer(commonName: string, opts: IssueOptions = {}): Promise<CertificatePem> {
    return this.issue(commonName, [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth], opts)
  }

  /** A client certificate: the subject `CN=<name>` is the identity servers map to a user. */
  issueClient(commonName: string, opts: IssueOptions = {}): Promise<CertificatePem> {
    return this.issue(commonName, [x509.ExtendedKeyUsage.clientAuth], opts)
  }

  private async issue(commonName: string, usages: string[], opts: IssueOptions): Promise<CertificatePem> {
    const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as Keys
    const names = opts.names ?? []
    const extensions: x509.Extension[] = [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension(usages),
      await x509.AuthorityKeyIdentifierExtension.create(this.certificate, false),
    ]
    if (names.length)
      extensions.push(new x509.SubjectAlternativeNameExtension(names.map((n) => (isIP(n) ? { type: 'ip', value: n } : { type: 'dns', value: n }))))
    const certificate = await x509.X509CertificateGenerator.create({
      serialNumber: nextSerial(),
      subject: `CN=${commonName}`,
      issuer: this.certificate.subject,
      notBefore: opts.notBefore ?? new Date(Date.now() - DAY_MS),
      notAfter: opts.notAfter ?? new Date(Date.now() + 90 * DAY_MS),
      signingAlgorithm: ALGORITHM,
      publicKey: keys.publicKey,
      signingKey: this.keys.privateKey,
      extensions,
    })
    return { cert: certificate.toString('pem'), key: await pem(keys.privateKey), fingerprint: await fingerprintOf(certificate) }
  }
}

/** A certificate that expired yesterday, otherwise as good as a fresh one from the same CA. */
export function issueExpiredServer(ca: CertificateAuthority, commonName: string, names: string[]): Promise<CertificatePem> {
  return ca.issueServer(commonName, { names, notBefore: new Date(Date.now() - 30 * DAY_MS), notAfter: new Date(Date.now() - DAY_MS) })
}

/** A server certificate from a CA of its own, which no client of the environment trusts. */
export async function issueUntrustedServer(commonName: string, names: string[]): Promise<CertificatePem> {
  const rogue = await CertificateAuthority.create(`untrusted CA for ${commonName}`, 30)
  return rogue.issueServer(commonName, { names })
}

/** The SHA-256 fingerprint (hex) of a PEM certificate. */
export function fingerprint(certPem: string): Promise<string> {
  return fingerprintOf(new x509.X509Certificate(certPem))
}

/** File paths of one certificate and its key. */
export interface CertificateFiles {
  certFile: string
  keyFile: string
}

/** Writes a certificate and its key (the key readable by its owner only) as `<dir>/<name>.pem` and `<dir>/<name>-key.pem`. */
export function writeCertificate(dir: string, name: string, c: CertificatePem): CertificateFiles {
  mkdirSync(dir, { recursive: true })
  const files = { certFile: join(dir, `${name}.pem`), keyFile: join(dir, `${name}-key.pem`) }
  writeFileSync(files.keyFile, c.key, { mode: 0o600 })
  writeFileSync(files.certFile, c.cert)
  return files
}
