//! Losses of the antecedent scores and the optional mention loss (SPEC §3.4).
use candle_core::{DType, Tensor};

use super::config::{CorefConfig, LossType};
use crate::heads::layers::log_sum_exp;
use crate::Result;

/// The gold antecedents of each top span: column 0 is the dummy, column `a + 1` is true when antecedent
/// `a` is an earlier span of the same gold cluster (and the span is a gold mention). The dummy is gold
/// exactly when no antecedent is. `[K][A+1]`, flattened row-major.
pub fn gold_antecedents(
    antecedent_indices: &[Vec<usize>],
    antecedent_mask: &[Vec<bool>],
    labels: &[u32],
) -> Vec<bool> {
    let mut gold = Vec::new();
    for (i, (row, mask)) in antecedent_indices.iter().zip(antecedent_mask).enumerate() {
        let start = gold.len();
        gold.push(false);
        let mut any = false;
        for (&j, &valid) in row.iter().zip(mask) {
            let same = valid && labels[i] > 0 && labels[j] == labels[i];
            any |= same;
            gold.push(same);
        }
        gold[start] = !any;
    }
    gold
}

/// The marginalized loss `Σ_i [logsumexp(s_i) − logsumexp(s_i + log gold_i)]` (SPEC §3.4).
///
/// # Shapes
/// - `scores`: `[K, A+1]`, `gold`: `K·(A+1)` flags; output: scalar
pub fn marginalized_loss(scores: &Tensor, gold: &[bool]) -> Result<Tensor> {
    let log_gold = log_indicator(gold, scores)?; // [K, A+1]
    let log_norm = log_sum_exp(scores)?; // [K]
    let log_marginal = log_sum_exp(&scores.add(&log_gold)?)?; // [K]
    Ok(log_norm.sub(&log_marginal)?.sum_all()?)
}

/// The hinge loss of coref-hoi (SPEC §3.4): with `s' = s + log[1 | mask]`,
/// `Σ_i (1 + max s'_i − max_gold s'_i) · δ_i`, where `δ_i = (3 − d)/2 − (1 − d)·[false new]` and 0 when the
/// best antecedent is gold. The maxima are gathered at their first arg-max, so the gradient reaches one
/// entry per row as in torch.
///
/// # Shapes
/// - `scores`: `[K, A+1]`; output: scalar
pub fn hinge_loss(
    scores: &Tensor,
    gold: &[bool],
    antecedent_mask: &[Vec<bool>],
    false_new_delta: f64,
) -> Result<Tensor> {
    let (k, cols) = scores.dims2()?;
    let device = scores.device();
    let mask_flags: Vec<bool> = antecedent_mask
        .iter()
        .flat_map(|row| std::iter::once(true).chain(row.iter().copied()))
        .collect();
    let masked = scores.add(&log_indicator(&mask_flags, scores)?)?; // [K, A+1]
    let gold_masked = masked.add(&log_indicator(gold, scores)?)?; // [K, A+1]
    let host: Vec<f32> = masked.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?;
    let gold_host: Vec<f32> = gold_masked.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?;
    let first_argmax = |row: &[f32]| {
        let mut best = 0;
        for (c, &v) in row.iter().enumerate() {
            if v > row[best] {
                best = c;
            }
        }
        best
    };
    let mut best = Vec::with_capacity(k);
    let mut best_gold = Vec::with_capacity(k);
    let mut delta = Vec::with_capacity(k);
    for i in 0..k {
        let b = first_argmax(&host[i * cols..(i + 1) * cols]);
        let bg = first_argmax(&gold_host[i * cols..(i + 1) * cols]);
        let dummy_gold = gold[i * cols];
        let false_new = b == 0 && !dummy_gold;
        let mut d = (3.0 - false_new_delta) / 2.0;
        if false_new {
            d -= 1.0 - false_new_delta;
        }
        if b == bg {
            d = 0.0;
        }
        best.push(b as u32);
        best_gold.push(bg as u32);
        delta.push(d as f32);
    }
    let best = Tensor::from_vec(best, (k, 1), device)?;
    let best_gold = Tensor::from_vec(best_gold, (k, 1), device)?;
    let highest = masked.gather(&best, 1)?.squeeze(1)?; // [K]
    let highest_gold = gold_masked.gather(&best_gold, 1)?.squeeze(1)?; // [K]
    let slack = (highest.sub(&highest_gold)? + 1.0)?; // [K]
    let delta = Tensor::from_vec(delta, k, device)?.to_dtype(scores.dtype())?; // [K]
    Ok(slack.mul(&delta)?.sum_all()?)
}

/// `coef · (−Σ_gold log σ(s) − Σ_other log(1 − σ(s)))` over the top spans (SPEC §3.4). Written with the
/// stable `softplus` (`−log σ(s) = softplus(−s)`), where the reference's `log(sigmoid(s))` would reach
/// `−∞` for scores beyond about ±88; equal otherwise.
///
/// # Shapes
/// - `top_mention_scores`: `[K]`; output: scalar
pub fn mention_loss(top_mention_scores: &Tensor, labels: &[u32], coef: f64) -> Result<Tensor> {
    let signs: Vec<f32> = labels
        .iter()
        .map(|&l| if l > 0 { -1.0 } else { 1.0 })
        .collect();
    let signs = Tensor::from_vec(signs, labels.len(), top_mention_scores.device())?
        .to_dtype(top_mention_scores.dtype())?;
    let z = top_mention_scores.mul(&signs)?; // [K]
                                             // softplus(z) = max(z, 0) + log(1 + exp(−|z|))
    let softplus = z.relu()?.add(&((z.abs()?.neg()?.exp()? + 1.0)?.log()?))?;
    Ok((softplus.sum_all()? * coef)?)
}

/// The loss of one document: the antecedent loss of `cfg.loss_type`, plus the mention loss when
/// `mention_loss_coef > 0` (SPEC §3.4).
///
/// # Shapes
/// - `antecedent_scores`: `[K, A+1]`, `top_mention_scores`: `[K]`; output: scalar
pub fn coref_loss(
    cfg: &CorefConfig,
    antecedent_scores: &Tensor,
    antecedent_indices: &[Vec<usize>],
    antecedent_mask: &[Vec<bool>],
    labels: &[u32],
    top_mention_scores: &Tensor,
) -> Result<Tensor> {
    let gold = gold_antecedents(antecedent_indices, antecedent_mask, labels);
    let mut loss = match cfg.loss_type {
        LossType::Marginalized => marginalized_loss(antecedent_scores, &gold)?,
        LossType::Hinge => hinge_loss(
            antecedent_scores,
            &gold,
            antecedent_mask,
            cfg.false_new_delta,
        )?,
    };
    if cfg.mention_loss_coef > 0.0 {
        loss = loss.add(&mention_loss(
            top_mention_scores,
            labels,
            cfg.mention_loss_coef,
        )?)?;
    }
    Ok(loss)
}

/// `log` of 0/1 flags shaped like `like`: 0 where true, `−∞` where false.
fn log_indicator(flags: &[bool], like: &Tensor) -> Result<Tensor> {
    let data: Vec<f32> = flags
        .iter()
        .map(|&f| if f { 0.0 } else { f32::NEG_INFINITY })
        .collect();
    Ok(Tensor::from_vec(data, like.shape(), like.device())?.to_dtype(like.dtype())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn ln_sum_exp(xs: &[f64]) -> f64 {
        let m = xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        m + xs.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
    }

    #[test]
    fn gold_antecedents_by_hand() {
        // spans 0,1,2 with labels 3, 0, 3; A = 2.
        let idx = vec![vec![0, 1], vec![0, 1], vec![0, 1]];
        let mask = vec![vec![false, false], vec![true, false], vec![true, true]];
        let gold = gold_antecedents(&idx, &mask, &[3, 0, 3]);
        assert_eq!(
            gold,
            vec![
                true, false, false, // span 0: no earlier span → dummy
                true, false, false, // span 1: not a mention → dummy
                false, true, false // span 2: same cluster as span 0
            ]
        );
    }

    #[test]
    fn marginalized_loss_on_a_known_score_matrix() {
        let inf = f32::NEG_INFINITY;
        let scores = [[0.0, inf, inf], [0.0, 1.5, inf], [0.0, 2.0, -1.0]];
        let gold = [true, false, false, false, true, false, false, true, true];
        let t = Tensor::new(&scores, &Device::Cpu).unwrap();
        let loss = marginalized_loss(&t, &gold)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap() as f64;
        // row 0: lse(0) − lse(0) = 0; row 1: lse(0, 1.5) − 1.5; row 2: lse(0, 2, −1) − lse(2, −1)
        let want = (ln_sum_exp(&[0.0, 1.5]) - 1.5)
            + (ln_sum_exp(&[0.0, 2.0, -1.0]) - ln_sum_exp(&[2.0, -1.0]));
        assert!((loss - want).abs() < 1e-6, "{loss} vs {want}");
    }

    #[test]
    fn marginalized_gradient_is_softmax_minus_gold_posterior() {
        let var = Var::new(&[[0.0f32, 1.0, 2.0]], &Device::Cpu).unwrap();
        let loss = marginalized_loss(var.as_tensor(), &[false, true, true]).unwrap();
        let grads = loss.backward().unwrap();
        let g = grads
            .get(var.as_tensor())
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        let z: f64 = [0.0f64, 1.0, 2.0].iter().map(|x| x.exp()).sum();
        let zg: f64 = [1.0f64, 2.0].iter().map(|x| x.exp()).sum();
        let want = [
            1.0 / z,
            1f64.exp() / z - 1f64.exp() / zg,
            2f64.exp() / z - 2f64.exp() / zg,
        ];
        for (got, want) in g[0].iter().zip(want) {
            assert!((*got as f64 - want).abs() < 1e-6, "{got} vs {want}");
        }
        // Masked (−∞) entries get a zero gradient, not NaN.
        let var = Var::new(&[[0.0f32, f32::NEG_INFINITY]], &Device::Cpu).unwrap();
        let loss = marginalized_loss(var.as_tensor(), &[true, false]).unwrap();
        let g = loss.backward().unwrap();
        let g = g.get(var.as_tensor()).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(g, vec![vec![0.0, 0.0]]);
    }

    #[test]
    fn hinge_loss_by_hand() {
        let inf = f32::NEG_INFINITY;
        // row 0: best is the dummy, which is gold → δ = 0.
        // row 1: best is antecedent 1 (2.0) but gold is antecedent 0 (1.0): slack 1 + 2 − 1 = 2,
        //        not a false new → δ = (3 − 1.5)/2 = 0.75.
        // row 2: best is the dummy (0), gold is antecedent 0 (−0.5): false new, slack 1.5,
        //        δ = 0.75 − (1 − 1.5) = 1.25.
        let scores = [[0.0, inf, inf], [0.0, 1.0, 2.0], [0.0, -0.5, -2.0]];
        let gold = [true, false, false, false, true, false, false, true, false];
        let mask = vec![vec![false, false], vec![true, true], vec![true, true]];
        let t = Tensor::new(&scores, &Device::Cpu).unwrap();
        let loss = hinge_loss(&t, &gold, &mask, 1.5)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!((loss - (2.0 * 0.75 + 1.5 * 1.25)).abs() < 1e-6, "{loss}");
    }

    #[test]
    fn mention_loss_by_hand() {
        let s = Tensor::new(&[2.0f32, -1.0, 0.5], &Device::Cpu).unwrap();
        let loss = mention_loss(&s, &[1, 0, 0], 0.5)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap() as f64;
        let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
        let want = -0.5 * (sig(2.0).ln() + (1.0 - sig(-1.0)).ln() + (1.0 - sig(0.5)).ln());
        assert!((loss - want).abs() < 1e-6, "{loss} vs {want}");
    }
}
