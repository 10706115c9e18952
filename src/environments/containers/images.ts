/** Which image each kind of container runs: the configured choice, with `auto` taking the local build when the engine has it. */
import type Dockerode from 'dockerode'
import { GamedayError } from '../../api/errors.ts'
import { OFFICIAL_IMAGES, type ContainersConfig, type ImageName } from './config.ts'
import { ignoreGone } from './docker.ts'

export interface ResolvedImages {
  images: Record<ImageName, string>
  /** official images the engine lacks: testcontainers pulls them */
  pulls: string[]
}

export async function resolveImages(docker: Dockerode, config: ContainersConfig): Promise<ResolvedImages> {
  const use = (process.env.GAMEDAY_IMAGES ?? config.images.use) as 'auto' | 'official' | 'local'
  if (!['auto', 'official', 'local'].includes(use)) throw new GamedayError(`GAMEDAY_IMAGES must be auto, official or local (got ${JSON.stringify(use)})`)
  const exists = async (image: string) => (await ignoreGone(docker.getImage(image).inspect())) !== undefined
  const images = {} as Record<ImageName, string>
  const pulls: string[] = []
  for (const key of Object.keys(OFFICIAL_IMAGES) as ImageName[]) {
    const local = config.images.local[key]
    const official = config.images.official[key]
    if (use === 'local' || (use === 'auto' && (await exists(local)))) {
      if (!(await exists(local))) throw new GamedayError(`image ${local} is not built: run \`npm run images\` (scripts/build-images.sh)`)
      images[key] = local
    } else {
      images[key] = official // pulled by testcontainers when missing
      if (!(await exists(official))) pulls.push(official)
    }
  }
  return { images, pulls }
}
